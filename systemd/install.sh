#!/usr/bin/env bash
# Install convlens as a systemd service on Raspberry Pi OS (Bookworm or Trixie, 64-bit).
#
#   sudo systemd/install.sh              install or update, enable and start the service
#   sudo systemd/install.sh --uninstall  remove service, venv and models; keep config and state
#   systemd/install.sh --dry-run         print every action, change nothing
#   systemd/install.sh --root DIR        install into a staging root (see usage below)
#
# Idempotent: a second run compares every file and the installed package set with what
# it would install, changes nothing and says so.
set -euo pipefail

readonly SERVICE=convlens.service
readonly SERVICE_USER=convlens
readonly SERVICE_GROUPS=(video render input)
readonly PREFIX=/opt/convlens
readonly VENV=$PREFIX/venv
readonly MODELS_DIR=$PREFIX/models
readonly CONF_DIR=/etc/convlens
readonly CONF_FILE=$CONF_DIR/config.toml
readonly UNIT_FILE=/etc/systemd/system/$SERVICE
readonly STATE_DIR=/var/lib/convlens
readonly STAMP=$VENV/.convlens-installed
readonly APT_PACKAGES=(python3-picamera2 python3-venv python3-numpy)
readonly MODULES_FILE=/etc/modules-load.d/convlens.conf
readonly DISPLAY_MANAGER=/etc/systemd/system/display-manager.service
readonly AUTOSTART_NAME=convlens-kiosk.desktop

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
ROOT=""
DRY_RUN=0
NO_APT=0
DESKTOP_USER=${SUDO_USER:-}
UNINSTALL=0
PURGE=0
CHANGES=0

usage() {
    cat <<EOF
Usage: sudo $0 [--dry-run] [--no-apt] [--root DIR] [--desktop-user NAME] [--uninstall [--purge]]

Installs convlens from $SRC_DIR as the systemd service $SERVICE:
apt packages (${APT_PACKAGES[*]}), the system user $SERVICE_USER,
the venv $VENV with pinned wheels, models in $MODELS_DIR,
$CONF_FILE (only if absent) and $UNIT_FILE; then enables and starts it.

  --dry-run     print every action and change nothing
  --no-apt      do not install apt packages (they must be there already)
  --desktop-user NAME
                on the desktop image, the user whose login opens convlens full
                screen (default: the user who ran sudo)
  --root DIR    install into the staging root DIR instead of /: files are written
                under DIR, the venv is created there without pip, and apt-get,
                useradd, pip and systemctl are printed, never run
  --uninstall   stop and disable the service, remove the unit, $PREFIX;
                keep $CONF_DIR and $STATE_DIR
  --purge       with --uninstall: also remove $CONF_DIR, $STATE_DIR and the user
  -h, --help    this text
EOF
}

say() { printf 'convlens-install: %s\n' "$*"; }
warn() { printf 'convlens-install: warning: %s\n' "$*" >&2; }
die() {
    printf 'convlens-install: error: %s\n' "$*" >&2
    exit 1
}

# The path of a system path inside the target root.
at() { printf '%s%s' "$ROOT" "$1"; }

# The arguments as one line a person can paste into a shell.
quoted() {
    local arg out=()
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
            out+=("$arg")
        else
            out+=("'${arg//\'/\'\\\'\'}'")
        fi
    done
    printf '%s' "${out[*]}"
}

# Every external command that changes the system goes through run.
#   run host CMD...  apt-get, useradd, pip, systemctl: never run under --root
#   run tree CMD...  python3 -m venv: writes only inside the target root
# Under --dry-run nothing is run; the command is printed either way.
run() {
    local scope=$1
    shift
    if [[ $scope == host && -n $ROOT ]]; then
        say "not run (staging root): $(quoted "$@")"
        return 0
    fi
    CHANGES=$((CHANGES + 1))
    if ((DRY_RUN)); then
        say "would run: $(quoted "$@")"
        return 0
    fi
    say "running: $(quoted "$@")"
    "$@"
}

# File operations done by this script itself, also printed and skipped by --dry-run.
ensure_dir() { # PATH MODE
    local dest
    dest=$(at "$1")
    [[ -d $dest ]] && return 0
    CHANGES=$((CHANGES + 1))
    if ((DRY_RUN)); then
        say "would create directory $1"
        return 0
    fi
    if ! mkdir -p "$dest" || ! chmod "$2" "$dest"; then
        die "could not create directory $1"
    fi
    say "created directory $1"
}

# install_file SRC DEST MODE: copy unless DEST already has the same bytes and mode.
# Returns 0 if DEST was (or would be) changed, 1 if it was already up to date.
install_file() {
    local src=$1 dest_path=$2 mode=$3 dest
    dest=$(at "$dest_path")
    if [[ -f $dest ]] && cmp -s "$src" "$dest" && [[ $(stat -c %a "$dest") == "$mode" ]]; then
        return 1
    fi
    local verb=installed
    [[ -e $dest ]] && verb=updated
    CHANGES=$((CHANGES + 1))
    if ((DRY_RUN)); then
        say "would install $dest_path (from ${src#"$SRC_DIR"/})"
        return 0
    fi
    write_atomically "$dest" "$mode" cp -- "$src"
    say "$verb $dest_path"
    return 0
}

# write_atomically DEST MODE CMD...: run CMD... TMP to fill a temporary file beside DEST,
# then rename it over DEST. A full disk or any failure leaves DEST as it was (never a
# truncated model, an empty config or a 0-byte unit) and stops the installer. Every
# step is checked here, not by `set -e`, which bash ignores inside a function called
# from an `if` or `||`.
PENDING_TMP=""
write_atomically() {
    local dest=$1 mode=$2
    shift 2
    PENDING_TMP=$(mktemp "$dest.convlens-tmp.XXXXXX") || die "cannot create a file in $(dirname "$dest")"
    if ! "$@" "$PENDING_TMP" || ! chmod "$mode" "$PENDING_TMP" || ! mv -f "$PENDING_TMP" "$dest"; then
        rm -f -- "$PENDING_TMP"
        PENDING_TMP=""
        die "could not write $dest (disk full or read-only?); it was left as it was"
    fi
    PENDING_TMP=""
}

# write_text TEXT FILE: the command write_atomically runs to write a string.
write_text() { printf '%s\n' "$1" >"$2"; }

remove_path() { # PATH
    local dest
    dest=$(at "$1")
    [[ -e $dest || -L $dest ]] || return 1
    CHANGES=$((CHANGES + 1))
    if ((DRY_RUN)); then
        say "would remove $1"
        return 0
    fi
    rm -rf -- "$dest" || die "could not remove $1"
    say "removed $1"
}

parse_args() {
    while (($#)); do
        case $1 in
            --dry-run) DRY_RUN=1 ;;
            --no-apt) NO_APT=1 ;;
            --desktop-user)
                (($# >= 2)) || die "--desktop-user needs a user name"
                DESKTOP_USER=$2
                shift
                ;;
            --desktop-user=*) DESKTOP_USER=${1#--desktop-user=} ;;
            --uninstall) UNINSTALL=1 ;;
            --purge) PURGE=1 ;;
            --root)
                (($# >= 2)) || die "--root needs a directory"
                ROOT=$2
                shift
                ;;
            --root=*) ROOT=${1#--root=} ;;
            -h | --help)
                usage
                exit 0
                ;;
            *)
                usage >&2
                die "unknown option '$1'"
                ;;
        esac
        shift
    done
    if ((PURGE && !UNINSTALL)); then
        die "--purge only goes with --uninstall"
    fi
    if [[ -n $ROOT ]]; then
        [[ -d $ROOT ]] || die "staging root '$ROOT' is not a directory"
        ROOT=$(cd "$ROOT" && pwd)
        [[ $ROOT == / ]] && ROOT=""
    fi
    if [[ -z $ROOT ]] && ((!DRY_RUN)) && ((EUID != 0)); then
        die "installing into / needs root: run it with sudo (or use --dry-run / --root DIR)"
    fi
}

# --- detection ------------------------------------------------------------------

CODENAME=""
detect_os() {
    local release
    release=$(at /etc/os-release)
    local found=""
    if [[ -r $release ]]; then
        found=$(sed -n 's/^VERSION_CODENAME=["'\'']\{0,1\}\([A-Za-z0-9_-]*\).*/\1/p' "$release" | head -n 1)
    fi
    case $found in
        bookworm | trixie) CODENAME=$found ;;
        "")
            warn "no VERSION_CODENAME in $release; using the Trixie rules"
            CODENAME=trixie
            ;;
        *)
            warn "'$found' is neither bookworm nor trixie; using the Trixie rules"
            CODENAME=trixie
            ;;
    esac
    say "operating system: $CODENAME (from $release)"
}

PY_VERSION=""
detect_python() {
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install python3 (apt-get install python3)"
    PY_VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    local major=${PY_VERSION%%.*} minor=${PY_VERSION#*.}
    if ((major < 3 || (major == 3 && minor < 10))); then
        die "Python $PY_VERSION is too old: convlens needs 3.10 or newer"
    fi
    local expected=3.13
    [[ $CODENAME == bookworm ]] && expected=3.11
    if [[ $PY_VERSION != "$expected" ]]; then
        warn "Python $PY_VERSION, but $CODENAME ships $expected: the pins in $(requirements_file) were checked for $expected"
    fi
    say "python: $PY_VERSION ($(command -v "$PYTHON"))"
}

# The userland's architecture, from dpkg: a 32-bit Raspberry Pi OS on the 64-bit kernel
# (the default on a Pi 4 and 5) says aarch64 to `uname -m`, but its Python is armhf,
# for which LiteRT publishes no wheels. A staging root has no userland to ask.
detect_architecture() {
    [[ -n $ROOT ]] && return 0
    command -v dpkg >/dev/null || die "dpkg not found: this installer is for Raspberry Pi OS (Debian)"
    local arch
    arch=$(dpkg --print-architecture)
    case $arch in
        arm64) say "architecture: $arch" ;;
        amd64) warn "architecture $arch: not a Raspberry Pi; the pins are the Pi's, and there is no camera module" ;;
        armhf | armel) die "this is 32-bit Raspberry Pi OS ($arch): convlens needs the 64-bit OS (LiteRT has no 32-bit wheels); flash Raspberry Pi OS (64-bit)" ;;
        *) die "architecture $arch is not supported: convlens needs 64-bit Raspberry Pi OS (arm64)" ;;
    esac
}

requirements_file() { printf '%s' "$SRC_DIR/systemd/requirements-$CODENAME.txt"; }

# --- install steps ------------------------------------------------------------------

install_apt_packages() {
    if ((NO_APT)); then
        say "apt: skipped (--no-apt)"
        return 0
    fi
    local missing=()
    local pkg
    if [[ -n $ROOT ]]; then
        missing=("${APT_PACKAGES[@]}")
    else
        for pkg in "${APT_PACKAGES[@]}"; do
            if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
                missing+=("$pkg")
            fi
        done
    fi
    if ((${#missing[@]} == 0)); then
        say "apt: ${APT_PACKAGES[*]} already installed"
        return 0
    fi
    run host apt-get update
    # --no-install-recommends: picamera2 recommends the Qt/OpenGL preview stack,
    # which a Lite image does not need and which we do not use.
    run host env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# The unit's SupplementaryGroups= names these groups, and systemd will not start a unit
# naming a group that does not exist (status 216/GROUP). Raspberry Pi OS has all three;
# a minimal Debian without udev lacks render and input, so they are made here.
ensure_groups() {
    [[ -n $ROOT ]] && return 0
    local group
    for group in "${SERVICE_GROUPS[@]}"; do
        getent group "$group" >/dev/null && continue
        warn "group '$group' does not exist; creating it (the unit's SupplementaryGroups= needs it)"
        run host groupadd --system "$group"
    done
}

existing_groups() {
    local group groups=()
    for group in "${SERVICE_GROUPS[@]}"; do
        # A staging root may have no group file; then assume the Pi OS groups.
        if [[ -z $ROOT || ! -f $(at /etc/group) ]] || grep -q "^$group:" "$(at /etc/group)"; then
            groups+=("$group")
        fi
    done
    local IFS=,
    printf '%s' "${groups[*]}"
}

ensure_user() {
    ensure_groups
    local groups
    groups=$(existing_groups)
    local exists=0
    if [[ -n $ROOT ]]; then
        [[ -f $(at /etc/passwd) ]] && grep -q "^$SERVICE_USER:" "$(at /etc/passwd)" && exists=1
    else
        getent passwd "$SERVICE_USER" >/dev/null && exists=1
    fi
    if ((!exists)); then
        run host useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "convlens camera service" \
            ${groups:+--groups "$groups"} "$SERVICE_USER"
        return 0
    fi
    if [[ -n $ROOT ]]; then
        say "user $SERVICE_USER exists in the staging root"
        return 0
    fi
    local have missing=() group wanted=()
    have=" $(id -nG "$SERVICE_USER") "
    IFS=, read -r -a wanted <<<"$groups"
    for group in "${wanted[@]}"; do
        [[ $have == *" $group "* ]] || missing+=("$group")
    done
    if ((${#missing[@]})); then
        local IFS=,
        run host usermod --append --groups "${missing[*]}" "$SERVICE_USER"
    else
        say "user $SERVICE_USER exists, in groups $groups"
    fi
}

MODELS_CHANGED=0
install_models() {
    ensure_dir "$PREFIX" 0755
    ensure_dir "$MODELS_DIR" 0755
    local model found=0
    # The metrics and top patches feed the LeNet and "what the layers see" views.
    for model in "$SRC_DIR"/models/*.tflite "$SRC_DIR"/models/lenet.npz \
        "$SRC_DIR"/models/lenet_metrics.json "$SRC_DIR"/models/lenet_top_patches.npz; do
        [[ -f $model ]] || continue
        found=1
        if install_file "$model" "$MODELS_DIR/$(basename "$model")" 644; then
            MODELS_CHANGED=1
        fi
    done
    if ((!found)); then
        warn "no models in $SRC_DIR/models (*.tflite, lenet.npz): the digit stage stays off until you run 'make train' and install again"
    fi
    if [[ -f $SRC_DIR/README.md ]]; then
        install_file "$SRC_DIR/README.md" "$PREFIX/README.md" 644 || true
    fi
}

install_config() {
    local example=$SRC_DIR/config.example.toml
    ensure_dir "$CONF_DIR" 0755
    if [[ -e $(at "$CONF_FILE") ]]; then
        say "keeping $CONF_FILE (yours; compare with $example for new keys)"
        return 0
    fi
    [[ -f $example ]] || die "$example is missing: cannot create $CONF_FILE"
    install_file "$example" "$CONF_FILE" 644 || true
}

UNIT_CHANGED=0
install_unit() {
    ensure_dir /etc/systemd/system 0755
    if install_file "$SRC_DIR/systemd/$SERVICE" "$UNIT_FILE" 644; then
        UNIT_CHANGED=1
    fi
}

# The unit allows /dev/media* by class name, which systemd resolves from /proc/devices once,
# when the service starts; "media" appears there only once the mc module is loaded, which
# udev may do after convlens starts. systemd-modules-load.service runs before every normal
# service, so loading mc there makes the name resolvable in time (video4linux and drm are
# allowed by their fixed major numbers; fb, input and dma_heap are built into the kernel).
install_modules_file() {
    local tmp
    tmp=$(mktemp) || die "cannot create a temporary file"
    printf '%s\n' "# convlens: the media controller's device class, registered before convlens.service" \
        "# starts (its DeviceAllow=char-media is resolved then). Installed by systemd/install.sh." \
        mc >"$tmp"
    ensure_dir /etc/modules-load.d 0755
    install_file "$tmp" "$MODULES_FILE" 644 || true
    rm -f -- "$tmp"
}

# The desktop image: the compositor owns the HDMI screen, so the service serves its picture
# on the web viewer and the desktop user's session opens it full screen at login. Raspberry
# Pi OS's labwc, wayfire and X11 (LXDE-pi) sessions all start the XDG autostart entries of
# ~/.config/autostart (their system autostart runs lxsession-xdg-autostart), so one entry
# there works on Bookworm and Trixie.
user_home() { # USER: the home directory, from the target's passwd
    if [[ -n $ROOT ]]; then
        [[ -f $(at /etc/passwd) ]] && awk -F: -v u="$1" '$1 == u { print $6 }' "$(at /etc/passwd)"
    else
        getent passwd "$1" | cut -d: -f6
    fi
}

kiosk_entry() {
    printf '%s\n' "[Desktop Entry]" "Type=Application" "Name=convlens" \
        "Comment=convlens full screen on this desktop (installed by convlens's systemd/install.sh)" \
        "Exec=$VENV/bin/convlens kiosk --config $CONF_FILE" "Terminal=false" "NoDisplay=true"
}

install_desktop_autostart() {
    local manager
    manager=$(at "$DISPLAY_MANAGER")
    [[ -e $manager || -L $manager ]] || return 0
    if [[ -z $DESKTOP_USER || $DESKTOP_USER == root ]]; then
        warn "desktop image: no desktop user to open convlens at login (run the installer with" \
            "sudo from that user's account, or --desktop-user NAME)"
        return 0
    fi
    local home
    home=$(user_home "$DESKTOP_USER")
    if [[ -z $home || ! -d $(at "$home") ]]; then
        warn "desktop user '$DESKTOP_USER' has no home directory: no autostart entry"
        return 0
    fi
    local dir made=()
    for dir in "$home/.config" "$home/.config/autostart"; do
        [[ -d $(at "$dir") ]] && continue
        ensure_dir "$dir" 0755
        made+=("$dir")
    done
    local tmp entry=$home/.config/autostart/$AUTOSTART_NAME
    tmp=$(mktemp) || die "cannot create a temporary file"
    kiosk_entry >"$tmp"
    if install_file "$tmp" "$entry" 644; then
        made+=("$entry")
    fi
    rm -f -- "$tmp"
    if ((${#made[@]})); then
        run host chown "$DESKTOP_USER:" "${made[@]/#/$ROOT}"
    fi
}

# A fingerprint of what pip would install: the pins, the Python version and the
# project's sources. Equal to the stamp in the venv = nothing to do.
source_fingerprint() {
    (
        cd "$SRC_DIR"
        printf 'python %s\ncodename %s\n' "$PY_VERSION" "$CODENAME"
        local inputs=() path
        for path in pyproject.toml "systemd/requirements-$CODENAME.txt" app training models; do
            [[ -e $path ]] && inputs+=("$path")
        done
        find "${inputs[@]}" -type f -not -path '*/__pycache__/*' -not -name '*.pyc' -print0 \
            | LC_ALL=C sort -z | xargs -0 --no-run-if-empty sha256sum
    ) | sha256sum | cut -d' ' -f1
}

CODE_CHANGED=0
install_venv() {
    local venv_python
    venv_python=$(at "$VENV/bin/python")
    if [[ ! -x $venv_python ]]; then
        # --system-site-packages: picamera2, libcamera and numpy come from apt.
        # In a staging root, --without-pip: pip never runs there (it would fetch wheels),
        # and skipping ensurepip keeps a staged install to a fraction of a second.
        local args=(-m venv --system-site-packages)
        [[ -n $ROOT ]] && args+=(--without-pip)
        run tree "$PYTHON" "${args[@]}" "$(at "$VENV")"
    elif [[ -z $ROOT ]] && ! "$venv_python" -c 'import pip' 2>/dev/null; then
        # An earlier run stopped while making it (ensurepip failed, disk full): start over.
        warn "venv $VENV has no pip (an earlier install stopped half-way): making it again"
        run tree "$PYTHON" -m venv --clear --system-site-packages "$VENV"
    else
        say "venv $VENV exists"
    fi

    local stamp fingerprint
    fingerprint=$(source_fingerprint)
    stamp=$(at "$STAMP")
    if [[ -f $stamp && $(<"$stamp") == "$fingerprint" ]]; then
        say "Python packages in $VENV are up to date"
        return 0
    fi
    CODE_CHANGED=1
    local pip=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
    # Wheels only: a source build of numpy or OpenCV on a Pi takes hours.
    run host "${pip[@]}" install --only-binary=:all: --requirement "$(requirements_file)"
    # The project itself; its dependencies are the pins above. --force-reinstall: same
    # version number, new code. pip builds from a copy, because a build in the checkout
    # would leave root-owned build/ and *.egg-info in the user's clone.
    local project=$SRC_DIR
    if [[ -z $ROOT ]] && ((!DRY_RUN)); then
        BUILD_COPY=$(mktemp -d)
        local part
        # models/: the wheel carries the shipped models as data files (pyproject.toml).
        for part in pyproject.toml README.md LICENSE app training models; do
            if [[ -e $SRC_DIR/$part ]]; then
                cp -R "$SRC_DIR/$part" "$BUILD_COPY/" || die "cannot copy $part to $BUILD_COPY"
            fi
        done
        project=$BUILD_COPY
    fi
    run host "${pip[@]}" install --no-deps --force-reinstall "$project"
    if [[ -z $ROOT ]] && ((!DRY_RUN)); then
        write_atomically "$stamp" 644 write_text "$fingerprint"
    fi
}

start_service() {
    if [[ -n $ROOT ]]; then
        say "staging root: systemctl is not called (daemon-reload, enable --now $SERVICE)"
        return 0
    fi
    if ((UNIT_CHANGED)); then
        run host systemctl daemon-reload
    fi
    local failed="$SERVICE did not start; its log: journalctl -u convlens -e"
    if ! systemctl is-enabled --quiet "$SERVICE" 2>/dev/null; then
        run host systemctl enable --now "$SERVICE" || die "$failed"
    elif ! systemctl is-active --quiet "$SERVICE" 2>/dev/null; then
        run host systemctl start "$SERVICE" || die "$failed"
    elif ((UNIT_CHANGED || CODE_CHANGED || MODELS_CHANGED)); then
        run host systemctl restart "$SERVICE" || die "$failed"
    else
        say "$SERVICE is enabled and running"
    fi
    if [[ -e $DISPLAY_MANAGER && $(systemctl get-default 2>/dev/null || true) == graphical.target ]]; then
        say "desktop image: convlens shows full screen when $DESKTOP_USER logs in (or open" \
            "http://127.0.0.1:8000/?present); for the HDMI overlay without a desktop, boot to the" \
            "console: sudo raspi-config nonint do_boot_behaviour B1"
    fi
}

do_install() {
    detect_os
    detect_architecture
    detect_python
    [[ -f $(requirements_file) ]] || die "$(requirements_file) is missing"
    install_apt_packages
    ensure_user
    install_models
    install_config
    install_modules_file
    install_unit
    install_venv
    install_desktop_autostart
    start_service
    if [[ -z $ROOT ]] && ((!DRY_RUN)); then
        say "logs:    journalctl -u convlens -f"
        say "config:  sudo nano $CONF_FILE, then sudo systemctl restart convlens"
        say "browser: set [web] host = \"0.0.0.0\" in the config to reach the viewer from other machines"
    fi
}

do_uninstall() {
    if [[ -z $ROOT ]] && [[ -e $UNIT_FILE ]]; then
        run host systemctl disable --now "$SERVICE"
    fi
    if remove_path "$UNIT_FILE"; then
        if [[ -z $ROOT ]]; then
            run host systemctl daemon-reload
        else
            say "staging root: systemctl is not called (daemon-reload)"
        fi
    fi
    remove_path "$PREFIX" || true
    remove_path "$MODULES_FILE" || true
    if [[ -n $DESKTOP_USER ]]; then
        local home
        home=$(user_home "$DESKTOP_USER")
        [[ -n $home ]] && { remove_path "$home/.config/autostart/$AUTOSTART_NAME" || true; }
    fi
    if ((PURGE)); then
        remove_path "$CONF_DIR" || true
        remove_path "$STATE_DIR" || true
        if [[ -n $ROOT ]] || getent passwd "$SERVICE_USER" >/dev/null; then
            run host userdel "$SERVICE_USER"
        fi
    else
        [[ -e $(at "$CONF_DIR") ]] && say "kept $CONF_DIR (remove it with --uninstall --purge)"
        [[ -e $(at "$STATE_DIR") ]] && say "kept $STATE_DIR (snapshots; --purge removes it)"
    fi
    return 0
}

BUILD_COPY=""
cleanup() {
    if [[ -n $BUILD_COPY ]]; then
        rm -rf -- "$BUILD_COPY"
    fi
    if [[ -n $PENDING_TMP ]]; then
        rm -f -- "$PENDING_TMP"
    fi
}

main() {
    trap cleanup EXIT
    parse_args "$@"
    [[ -n $ROOT ]] && say "staging root: $ROOT"
    if ((UNINSTALL)); then
        do_uninstall
    else
        do_install
    fi
    if ((DRY_RUN)); then
        say "dry run: nothing was changed ($CHANGES action(s) above would be taken)"
    elif ((CHANGES == 0 && UNINSTALL)); then
        say "nothing changed: convlens was not installed"
    elif ((CHANGES == 0)); then
        say "nothing changed: everything was already up to date"
    else
        say "done: $CHANGES change(s)"
    fi
}

main "$@"
