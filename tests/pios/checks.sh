#!/usr/bin/env bash
# The checks of the arm64 test bed, run as root INSIDE the booted container by
# pios-checks.service (tests/pios/run.sh sets it up). Each check appends one line to
# $RESULTS: "PASS <release>.<name>" or "FAIL <release>.<name>: <why>"; the last line
# written is "DONE". Details (command output) go to the journal, which run.sh saves.
#
# The order is a user's: install, use the service, break it in the ways the unit must
# survive, install again, uninstall, purge, then the project's own tests on this
# userland (`make test`, which on a Pi makes a --system-site-packages venv).
set -uo pipefail

readonly RELEASE=${PIOS_RELEASE:?PIOS_RELEASE is not set}
# PIOS_RESULTS: tests/test_pios_checks.py sources this file and keeps its verdicts elsewhere.
readonly RESULTS=${PIOS_RESULTS:-/pios/results/checks.log}
readonly SRC=/root/convlens
readonly UNIT=convlens.service
readonly CONFIG=/etc/convlens/config.toml
readonly VENV_PY=/opt/convlens/venv/bin/python
readonly STATUS_URL=http://127.0.0.1:8000/api/status
readonly FAULTS_DIR=/usr/local/lib/pios-faults
# Where this test bed relaxes the unit, and why (see qemu_user_dropin below): a drop-in
# that a generator writes at every boot and daemon-reload.
readonly QEMU_DROPIN=/run/systemd/generator/$UNIT.d/qemu-user.conf
readonly QEMU_GENERATOR=/etc/systemd/system-generators/pios-qemu-user
# The first boot's id, written before the reboot (README "Run on boot", step 5); the rest
# of the checks run in the next boot.
readonly REBOOT_MARK=/var/lib/pios/rebooted-from
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8 SYSTEMD_PAGER="" SYSTEMD_COLORS=0

# While a check runs under `checked`, its verdicts go to $HELD first (see checked below).
HELD=""
verdict() { # LINE
    if [[ -n $HELD ]]; then
        printf '%s\n' "$1" | tee -a "$HELD"
    else
        printf '%s\n' "$1" | tee -a "$RESULTS"
    fi
}
pass() { verdict "PASS $RELEASE.$1"; }
fail() { verdict "FAIL $RELEASE.$1: $2"; }
log() { printf '[pios] %s\n' "$*"; }
prefixed() { # TAG: copy stdin to stdout, each line tagged
    local line
    while IFS= read -r line; do printf '[%s] %s\n' "$1" "$line"; done
}
now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
prop() { systemctl show -p "$1" --value "$UNIT"; }
main_pid() { prop MainPID; }

# A field of /api/status, or "" when the viewer does not answer.
status_field() {
    curl -s --max-time 5 "$STATUS_URL" 2>/dev/null \
        | python3 -c 'import json, sys
try:
    value = json.load(sys.stdin).get(sys.argv[1])
except ValueError:
    sys.exit(0)
print("" if value is None else value)' "$1"
}

status_answers() { [[ -n $(status_field runtime) ]]; }

wait_until() { # SECONDS COMMAND...: poll every second until COMMAND succeeds
    local limit=$1 waited=0
    shift
    until "$@"; do
        ((waited++ >= limit)) && return 1
        sleep 1
    done
}

is_running_with_new_pid() { # OLD_PID
    local pid
    pid=$(main_pid)
    [[ $(prop ActiveState) == active && $pid != 0 && $pid != "$1" ]]
}

reset_config() { # back to the config install.sh wrote
    cp "$SRC/config.example.toml" "$CONFIG"
}

# Replace one `key = value` line of a section in the installed config.
set_key() { # SECTION KEY VALUE
    python3 - "$CONFIG" "$@" <<'EOF'
import re, sys
path, section, key, value = sys.argv[1:]
text = open(path).read()
head, sep, rest = text.partition(f"[{section}]\n")
assert sep, f"no [{section}] in {path}"
body, header, tail = rest.partition("\n[")
body, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", body, count=1)
assert n == 1, f"no {key} under [{section}]"
open(path, "w").write(head + sep + body + header + tail)
EOF
}

# systemd could not even put a process of the unit into its cgroup ("Failed at step
# CGROUP", status 219) since SINCE: the unit's cgroup was removed under it. That was the
# test bed's own doing: two containers at once shared the cgroup their systemd treats as
# its root, so each removed the other's convlens.service cgroup (run.sh now gives each
# container its own; see "a cgroup of its own" there). Should it ever happen again, a
# start that hits it is started once more and a failed check during it runs once more,
# each logged, so that the cause is in the log rather than a puzzling verdict. The whole
# journal is searched, not `journalctl -u`: the forked process never reached the unit's
# cgroup, so journald files systemd's line under init.scope, and only PID 1's own lines
# carry UNIT=.
cgroup_artefact_since() { # SINCE
    journalctl --sync 2>/dev/null
    journalctl --since "@${1%.*}" -o cat --no-pager | grep -qF "$UNIT: Failed at step CGROUP"
}

# Restart from a clean slate (no start-limit or restart counters); STARTED_AT: when the
# start that counts began. Once more, logged, after the cgroup artefact above.
fresh_start() {
    local rc
    STARTED_AT=$(now)
    systemctl reset-failed "$UNIT" 2>/dev/null
    systemctl restart "$UNIT"
    rc=$?
    if cgroup_artefact_since "$STARTED_AT"; then
        log "systemd could not attach a process of $UNIT to its cgroup (status 219: its cgroup was removed under it): starting again"
        systemctl stop "$UNIT"
        sleep 2
        STARTED_AT=$(now)
        systemctl reset-failed "$UNIT" 2>/dev/null
        systemctl restart "$UNIT"
        rc=$?
    fi
    return "$rc"
}

# The checks that ran a second time (journal-no-traceback counts their deliberate faults).
RAN_AGAIN=" "

# CHECK [ARGS...]: run a check of the running service with its verdicts held back. When
# one is a FAIL and the cgroup artefact happened during the check (a restart inside it,
# after a crash, a config error or a SIGKILL, which fresh_start cannot retry), the check
# runs once more, logged, and the second verdicts stand. A FAIL without the artefact
# stands at once.
checked() {
    local since held
    since=$(now)
    HELD=$(mktemp)
    "$@"
    held=$(<"$HELD")
    rm -f "$HELD"
    HELD=""
    if grep -q '^FAIL ' <<<"$held" && cgroup_artefact_since "$since"; then
        log "$1: systemd could not attach a process of $UNIT to its cgroup during the check (status 219: its cgroup was removed under it): the check once more"
        RAN_AGAIN+="$1 "
        "$@"
    elif [[ -n $held ]]; then
        printf '%s\n' "$held" >>"$RESULTS"
    fi
}

# --- the things qemu-user cannot do, and what the test bed does about them -------------
#
# The container runs arm64 binaries through qemu-user (binfmt_misc), not a virtual
# machine: every system call is the host kernel's, issued by an x86-64 qemu process.
# Three of the unit's directives cannot work that way; this drop-in (in /run, so it is
# the test bed's, not the installer's; written by a generator, so it is there when the
# service starts at boot) turns them off, and the unit keeps them:
#   PrivateUsers=yes  systemd unshares a user namespace in the service's process, and
#                     the kernel refuses CLONE_NEWUSER to a multi-threaded process
#                     (EINVAL); qemu-user always runs a second host thread (its RCU
#                     thread), so "Failed to set up user namespacing" at step USER.
#   PrivateIPC=yes    systemd passes the IPC namespace fd back with recvmsg() and an
#                     empty iovec; qemu 7.2 answers that call with 0 without asking the
#                     kernel, so systemd sees no fd: "Failed to set up IPC namespacing:
#                     Input/output error" at step NAMESPACE.
#   ProtectProc=      not turned off, but it mounts a fresh procfs for the service,
#                     where /proc/cpuinfo is the host's x86 one again. LiteRT's cpuinfo
#                     library segfaults parsing it under qemu (a qemu artefact: with an
#                     arm64 cpuinfo it runs), so the Pi 4 cpuinfo that run.sh binds over
#                     the container's /proc/cpuinfo is bound again for the service.
# Loaded but inert under qemu-user: SystemCallFilter=, SystemCallArchitectures=,
# RestrictAddressFamilies=, MemoryDenyWriteExecute=, RestrictNamespaces=,
# LockPersonality=, RestrictRealtime=, RestrictSUIDSGID=. systemd installs their
# seccomp filters (the service's Seccomp: 2 is checked below), but the filters match
# arm64 system calls and the kernel sees qemu's x86-64 ones, which they let through.
# They are checked on x86-64 by tests/test_systemd_unit.py (systemd-analyze), not here.
# DevicePolicy=/DeviceAllow= need BPF, which qemu 7.2 does not emulate for the guest:
# systemd reports the device cgroup program as unsupported; there are no camera or
# screen devices in the container either.
qemu_user_dropin() {
    mkdir -p "$(dirname "$QEMU_GENERATOR")"
    cat >"$QEMU_GENERATOR" <<EOF
#!/bin/sh
# Written by tests/pios/checks.sh: what qemu-user cannot do (see the comments there).
mkdir -p "\$1/$UNIT.d"
cat >"\$1/$UNIT.d/qemu-user.conf" <<'DROPIN'
[Service]
PrivateUsers=no
PrivateIPC=no
BindReadOnlyPaths=/etc/pios/cpuinfo:/proc/cpuinfo
DROPIN
EOF
    chmod 755 "$QEMU_GENERATOR"
}

# --- checks ------------------------------------------------------------------------------

check_userland() {
    local arch py numpy
    arch=$(dpkg --print-architecture)
    py=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    numpy=$(dpkg-query -W -f='${Version}' python3-numpy)
    log "userland: $arch, Python $py, apt numpy $numpy, systemd $(systemctl --version | head -n 1)"
    local want_py=3.13 want_numpy='^1:2\.'
    [[ $RELEASE == bookworm ]] && want_py=3.11 want_numpy='^1:1\.24\.'
    if [[ $arch == arm64 && $py == "$want_py" && $numpy =~ $want_numpy ]]; then
        pass userland-is-arm64
    else
        fail userland-is-arm64 "dpkg arch $arch, Python $py, python3-numpy $numpy"
    fi
}

INSTALL_LOG=/pios/results/install.log
check_install() {
    local started rc
    started=$(now)
    (cd "$SRC" && systemd/install.sh) >"$INSTALL_LOG" 2>&1
    rc=$?
    log "install.sh: exit $rc in $(seconds_since "$started") s"
    prefixed install <"$INSTALL_LOG"
    if ((rc != 0)); then
        fail install "install.sh exited $rc: $(grep -m 1 'error:' "$INSTALL_LOG" || tail -n 1 "$INSTALL_LOG")"
        return 1
    fi
    if ! grep -q "apt-get install -y --no-install-recommends python3-picamera2" "$INSTALL_LOG"; then
        fail install "install.sh did not apt-get install python3-picamera2"
    elif ! grep -q '^convlens-install: done: ' "$INSTALL_LOG"; then
        fail install "no 'done:' line at the end of install.sh"
    elif [[ $(systemctl is-enabled "$UNIT" 2>&1) != enabled ]]; then
        fail install "$UNIT is $(systemctl is-enabled "$UNIT" 2>&1), not enabled (it would not start at boot)"
    else
        pass install
    fi
}

# README "Run on boot", step 5: reboot after installing, as a user does. run.sh boots the
# same root again when systemd-nspawn ends with the container's reboot.
reboot_once() {
    mkdir -p "$(dirname "$REBOOT_MARK")"
    cat /proc/sys/kernel/random/boot_id >"$REBOOT_MARK"
    # pios-checks.service powers the container off when this script ends, but not now.
    : >/run/pios-rebooting
    log "rebooting (README Run on boot, step 5)"
    systemctl --no-block reboot
    exit 0
}

is_active_or_failed() { [[ $(prop ActiveState) =~ ^(active|failed)$ ]]; }

# After the reboot the service comes up by itself: the boot starts it (nothing here
# does), READY=1 through Type=notify, no restart, and the viewer answers.
check_comes_up_after_reboot() {
    local limit state bad=()
    limit=$(sed -n 's/^TimeoutStartSec=//p' "$SRC/systemd/$UNIT")
    wait_until $((limit + 30)) is_active_or_failed
    state="$(prop ActiveState)/$(prop SubState) Type=$(prop Type) NRestarts=$(prop NRestarts)"
    log "after the reboot: $state, $(journalctl -b -u "$UNIT" -o cat --no-pager | grep -m 1 '^Started ')"
    [[ $(cat /proc/sys/kernel/random/boot_id) != "$(cat "$REBOOT_MARK")" ]] || bad+=("the boot id did not change")
    [[ $state == "active/running Type=notify NRestarts=0" ]] || bad+=("$state")
    journalctl -b -u "$UNIT" -o cat --no-pager | grep -q '^Started ' \
        || bad+=("no 'Started' for $UNIT in this boot's journal")
    if ! wait_until 30 status_answers; then
        bad+=("no answer from $STATUS_URL in 30 s")
    elif [[ $(status_field runtime) != LiteRT* ]]; then
        bad+=("runtime is '$(status_field runtime)'")
    fi
    if ((${#bad[@]})); then
        fail comes-up-after-reboot "${bad[*]}"
    else
        pass comes-up-after-reboot
    fi
}

# The unit as systemd loaded it, with the shipped hardening, started through
# Type=notify within TimeoutStartSec.
check_notify_start() {
    local started elapsed limit
    systemctl reset-failed "$UNIT" 2>/dev/null
    started=$(now)
    systemctl restart "$UNIT"
    elapsed=$(seconds_since "$started")
    limit=$(sed -n 's/^TimeoutStartSec=//p' "$SRC/systemd/$UNIT")
    local state
    state="$(prop ActiveState)/$(prop SubState) Type=$(prop Type) NRestarts=$(prop NRestarts)"
    log "systemctl restart: $elapsed s (TimeoutStartSec $limit s), $state"
    if [[ $state != "active/running Type=notify NRestarts=0" ]]; then
        fail notify-start "$state after systemctl restart"
    elif awk -v e="$elapsed" -v l="$limit" 'BEGIN { exit !(e < l) }'; then
        pass notify-start
    else
        fail notify-start "READY=1 after $elapsed s, TimeoutStartSec is $limit s"
    fi
}

# What the loaded unit says equals what the repository ships, but for the drop-in above.
check_hardening_loaded() {
    local key shipped loaded bad=()
    for key in ProtectSystem ProtectHome PrivateTmp ProtectProc NoNewPrivileges \
        CapabilityBoundingSet DevicePolicy MemoryDenyWriteExecute RestrictRealtime \
        LockPersonality ProtectKernelTunables ProtectKernelModules ProtectControlGroups \
        ProtectClock ProtectHostname UMask WatchdogUSec RestartPreventExitStatus; do
        loaded=$(prop "$key")
        case $key in
            ProtectSystem) shipped=strict ;;
            ProtectHome) shipped=yes ;;
            ProtectProc) shipped=invisible ;;
            CapabilityBoundingSet) shipped="" ;;
            DevicePolicy) shipped=closed ;;
            UMask) shipped=0077 ;;
            WatchdogUSec) shipped=10s ;;
            RestartPreventExitStatus) shipped=78 ;;
            *) shipped=yes ;;
        esac
        [[ $loaded == "$shipped" ]] || bad+=("$key=$loaded (ships $shipped)")
    done
    local dropins
    dropins=$(prop DropInPaths)
    [[ $dropins == "$QEMU_DROPIN" ]] || bad+=("drop-ins: '$dropins'")
    if ((${#bad[@]})); then
        fail hardening-loaded "${bad[*]}"
    else
        pass hardening-loaded
    fi
}

# The sandbox is real for the running service: no privileges, seccomp on, /home hidden,
# the system read-only, only the state directory writable. The probes run as the
# service user and see the file system through /proc/PID/root, that is through the
# service's mount namespace (nsenter cannot join it: under qemu-user every process is
# multi-threaded, and setns(CLONE_NEWNS) refuses that). Each says why a write failed,
# so a probe that cannot run at all is not mistaken for a refusal.
check_sandbox_in_effect() {
    local pid bad=() probe
    pid=$(main_pid)
    grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$pid/status" || bad+=("NoNewPrivs not 1")
    grep -q '^CapBnd:[[:space:]]*0000000000000000$' "/proc/$pid/status" || bad+=("capabilities left")
    grep -q '^Seccomp:[[:space:]]*2$' "/proc/$pid/status" || bad+=("no seccomp filter")
    # /srv/pios-open is writable by anyone, so only ProtectSystem=strict can refuse it.
    mkdir -p /srv/pios-open
    chmod 1777 /srv/pios-open
    # shellcheck disable=SC2016 # the script is for the inner shell
    probe=$(runuser -u convlens -- /bin/sh -c '
        root=/proc/$1/root
        for dir in /srv/pios-open /var/lib/convlens /tmp; do
            if error=$( { : >"$root$dir/.pios-probe"; } 2>&1 ); then
                rm -f "$root$dir/.pios-probe"
                echo "$dir: writable"
            else
                echo "$dir: ${error##*: }"
            fi
        done
        error=$(ls "$root/home" 2>&1) && echo "/home: readable" || echo "/home: ${error##*: }"' \
        _ "$pid" 2>&1)
    log "sandbox probes as convlens: $(tr '\n' ';' <<<"$probe")"
    local expected
    expected=$(printf '%s\n' "/srv/pios-open: Read-only file system" \
        "/var/lib/convlens: writable" "/tmp: writable" "/home: Permission denied")
    [[ $probe == "$expected" ]] || bad+=("probes: $(tr '\n' ';' <<<"$probe")")
    if ((${#bad[@]})); then
        fail sandbox-in-effect "${bad[*]}"
    else
        pass sandbox-in-effect
    fi
}

check_status_and_litert() {
    local runtime source
    if ! wait_until 30 status_answers; then
        fail api-status "no answer from $STATUS_URL in 30 s"
        fail litert-loaded "no status"
        return
    fi
    pass api-status
    runtime=$(status_field runtime)
    source=$(status_field source)
    log "status: runtime '$runtime', source '$source'"
    if [[ $runtime == LiteRT* && $runtime == *lenet_float32.tflite* ]]; then
        pass litert-loaded
    else
        fail litert-loaded "runtime is '$runtime'"
    fi
    # The default config's source is auto: apt's picamera2 (the fake) lists a camera.
    if [[ $source == picamera2* ]]; then
        pass camera-through-system-site-packages
    else
        fail camera-through-system-site-packages "source is '$source', not picamera2"
    fi
}

check_numpy_is_apts() {
    local found apt_version own
    found=$("$VENV_PY" -c 'import numpy, picamera2; print(numpy.__version__, numpy.__file__, picamera2.__file__)')
    # Debian's version (1:2.2.4+ds-1) without epoch, repack suffix (+ds) and revision.
    apt_version=$(dpkg-query -W -f='${Version}' python3-numpy | sed 's/^[0-9]*://; s/[-+~].*//')
    own=$(find /opt/convlens/venv/lib -maxdepth 3 -iname 'numpy*' | head -n 1)
    log "venv: numpy, picamera2: $found; apt numpy $apt_version; venv's own: '${own:-none}'"
    read -r version numpy_file picamera2_file <<<"$found"
    if [[ $version != "$apt_version" || $numpy_file != /usr/lib/python3/dist-packages/* ]]; then
        fail numpy-is-apts "venv imports numpy $version from $numpy_file; apt has $apt_version"
    elif [[ -n $own ]]; then
        fail numpy-is-apts "pip put $own in the venv"
    elif [[ $picamera2_file != /usr/lib/python3/dist-packages/picamera2/* ]]; then
        fail numpy-is-apts "picamera2 from $picamera2_file"
    else
        pass numpy-is-apts
    fi
}

# The service's HOME is writable by it; a usercustomize planted there must not run.
check_no_user_site() {
    local site marker=/var/lib/convlens/pios-usersite-ran
    site=$(runuser -u convlens -- "$VENV_PY" -c 'import site; print(site.getusersitepackages())')
    mkdir -p "$site"
    printf 'open("%s", "w").close()\n' "$marker" >"$site/usercustomize.py"
    chown -R convlens: /var/lib/convlens/.local
    rm -f "$marker"
    # The planted file works for the same Python without the setting ...
    runuser -u convlens -- env -u PYTHONNOUSERSITE "$VENV_PY" -c pass
    local works=no
    [[ -e $marker ]] && works=yes
    rm -f "$marker"
    # ... and does not for the service.
    fresh_start
    sleep 2
    if [[ $works != yes ]]; then
        fail no-user-site "the planted usercustomize does not run even without PYTHONNOUSERSITE"
    elif [[ -e $marker ]]; then
        fail no-user-site "the service ran $site/usercustomize.py"
    elif [[ $'\n'$(tr '\0' '\n' <"/proc/$(main_pid)/environ")$'\n' != *$'\n'PYTHONNOUSERSITE=1$'\n'* ]]; then
        fail no-user-site "PYTHONNOUSERSITE=1 is not in the service's environment"
    else
        pass no-user-site
    fi
    rm -rf /var/lib/convlens/.local "$marker"
}

# The demo scene shows a new MNIST digit every 3 s of frames: a working digit stage
# reads several different digits with confidence.
check_reads_digits() {
    set_key source spec '"demo"'
    fresh_start
    local seen="" waited=0 prediction confidence
    while ((waited < 120)); do
        prediction=$(status_field prediction)
        confidence=$(status_field confidence)
        if [[ -n $prediction && -n $confidence ]] \
            && awk -v c="$confidence" 'BEGIN { exit !(c >= 0.9) }' \
            && [[ $seen != *"$prediction"* ]]; then
            seen+=$prediction
        fi
        ((${#seen} >= 3)) && break
        sleep 1
        waited=$((waited + 1))
    done
    log "demo digits read with confidence >= 0.9: '$seen' in ${waited} s"
    if ((${#seen} >= 3)); then
        pass reads-digits
    else
        fail reads-digits "only '${seen}' read with confidence >= 0.9 in ${waited} s"
    fi
    reset_config
}

# `convlens classify` of the installed venv, as root from anywhere: no CONVLENS_MODELS_DIR,
# so the model comes from the wheel's data files (app/model_paths.py).
check_classify() {
    local photo=/root/pios-three.png out
    "$VENV_PY" - "$photo" <<'EOF'
import sys

import cv2
import numpy as np

from app.sources.demo import load_demo_digits, render_digit_scene

images, labels = load_demo_digits()
three = images[int(np.flatnonzero(labels == 3)[0])]
cv2.imwrite(sys.argv[1], render_digit_scene(three, size=(320, 240), rng=np.random.default_rng(5)))
EOF
    out=$(cd / && env -u CONVLENS_MODELS_DIR /opt/convlens/venv/bin/convlens classify --json "$photo" 2>&1)
    log "classify: $out"
    if [[ $out == *'"digit": 3'* ]]; then
        pass classify
    else
        fail classify "$(head -c 300 <<<"$out")"
    fi
}

expect_config_exit() { # NAME SECTION KEY VALUE MESSAGE: that value in the config
    local name=$1 message=$5
    reset_config
    set_key "$2" "$3" "$4"
    fresh_start 2>/dev/null
    # RestartSec=3: wait past it, so a restart would have happened.
    sleep 6
    local state last
    state="$(prop ActiveState) status=$(prop ExecMainStatus) restarts=$(prop NRestarts)"
    last=$(journalctl -u "$UNIT" -o cat --no-pager -n 20 | grep 'config error' | tail -n 1)
    log "$name: $state; $last"
    if [[ $state != "failed status=78 restarts=0" ]]; then
        fail "$name" "$state"
    elif [[ $last != *"$message"* ]]; then
        fail "$name" "journal says '$last'"
    else
        pass "$name"
    fi
    reset_config
}

# A camera that cannot be opened at start for a reason picamera2 does not wrap: the
# PermissionError from /dev/dma_heap (the user not in the video group). The real library
# keeps the camera acquired after it, so it stays unusable until the process ends; the
# service must stay up, say why on screen and keep retrying, never restart in a loop
# (README "Faults it survives"). The fault comes through PYTHONPATH from
# tests/pios/faults/sitecustomize.py, with the fake's own hook.
check_camera_open_error_retried() {
    local dropin=/run/systemd/system/$UNIT.d/pios-camera-fault.conf started
    mkdir -p "$(dirname "$dropin")"
    printf '[Service]\nEnvironment=PYTHONPATH=%s PIOS_CAMERA_OPEN_FAILURES=1\n' "$FAULTS_DIR" >"$dropin"
    systemctl daemon-reload
    started=$(now)
    fresh_start 2>/dev/null
    local message="" waited=0
    while ((waited < 60)); do
        message=$(status_field message)
        [[ $message == "no camera ("*"Camera __init__ sequence did not complete"* ]] && break
        sleep 1
        waited=$((waited + 1))
    done
    sleep 10 # would a crash and a restart follow?
    local state journal
    state="$(prop ActiveState) restarts=$(prop NRestarts)"
    journal=$(journalctl -u "$UNIT" -o cat --no-pager --since "@${started%.*}")
    log "camera-open-error: $state; status message '$message' after ${waited} s"
    if [[ $state != "active restarts=0" ]]; then
        fail camera-open-error-retried "$state (the open error escaped: journalctl -u convlens)"
    elif [[ $journal != *"PermissionError: [Errno 13] Permission denied: '/dev/dma_heap/vidbuf_cached'"* ]]; then
        fail camera-open-error-retried "the journal never names the PermissionError"
    elif [[ $message != "no camera ("* ]]; then
        fail camera-open-error-retried "the screen does not say why there is no camera: '$message'"
    else
        pass camera-open-error-retried
    fi
    rm -f "$dropin"
    systemctl daemon-reload
    fresh_start 2>/dev/null
}

check_crash_restarts() {
    fresh_start
    local old before
    old=$(main_pid)
    before=$(prop NRestarts)
    systemctl kill -s SIGSEGV --kill-whom=main "$UNIT"
    if wait_until 60 is_running_with_new_pid "$old" && (($(prop NRestarts) == before + 1)); then
        pass crash-restarts
    else
        fail crash-restarts "$(prop ActiveState)/$(prop SubState), NRestarts $(prop NRestarts), pid $(main_pid) (was $old)"
    fi
}

check_watchdog_restarts() {
    fresh_start
    local old started
    old=$(main_pid)
    started=$(now)
    systemctl kill -s SIGSTOP --kill-whom=main "$UNIT"
    local journal=""
    wait_until 60 is_running_with_new_pid "$old" \
        && journal=$(journalctl -u "$UNIT" -o cat --no-pager --since "@${started%.*}")
    if [[ $journal == *"Watchdog timeout"* ]]; then
        log "watchdog: stalled process replaced after $(seconds_since "$started") s"
        pass watchdog-restarts
    else
        fail watchdog-restarts "$(prop ActiveState)/$(prop SubState), pid $(main_pid) (was $old)"
    fi
}

# The main process ends within 2 s of the stop (README, "Faults it survives"): from the
# unit leaving "active" to the main process's exit, both as systemd timed them. Not the
# whole `systemctl stop`: that also waits for the console stop step (ExecStopPost=, a
# shell line here, since there is no VT), and spawning it under qemu-user is slow: with
# the step, systemctl stop took 1.9-4.1 s at load 14-19 (without it, 0.5-1.8 s); on a
# Pi it is a fork and a shell test.
check_stop_time() {
    fresh_start
    sleep 2
    local started elapsed main_exit
    started=$(now)
    systemctl stop "$UNIT"
    elapsed=$(seconds_since "$started")
    main_exit=$(awk -v a="$(prop ActiveExitTimestampMonotonic)" \
        -v b="$(prop ExecMainExitTimestampMonotonic)" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
    log "systemctl stop: $elapsed s (the main process ended after $main_exit s), result $(prop Result)"
    if awk -v e="$main_exit" 'BEGIN { exit !(e >= 0 && e < 2.0) }' && [[ $(prop Result) == success ]]; then
        pass stop-under-2s
    else
        fail stop-under-2s "the main process ended $main_exit s after the stop (systemctl stop $elapsed s), result $(prop Result)"
    fi
}

# The console steps (ExecStartPre=-+ python -m app.console_mode graphics, ExecStopPost=-+
# its text step) under the real systemd: they run as root while the main process runs
# as convlens with no capabilities (sandbox-in-effect); the start step says in one line
# that the container has no virtual terminal; neither fails the start or the stop; the
# stop step starts Python only when a note says a VT was switched, and then runs after
# a SIGKILL too, removing root's note (which the service user could not). The journal's
# _UID and _CAP_EFFECTIVE of each line are those of the process that wrote it.
console_lines() { # SINCE [who]: this unit's console lines since SINCE, or who wrote them
    journalctl --sync 2>/dev/null
    journalctl -u "$UNIT" --since "@${1%.*}" -o json --no-pager | python3 -c '
import json, sys
for line in sys.stdin:
    entry = json.loads(line)
    message = entry.get("MESSAGE")
    # app/logging_setup.py: "<logger>: <message>" lines in the journal.
    logger, _, message = message.partition(": ") if isinstance(message, str) else ("", "", "")
    if logger == "app.console_mode":
        who = "uid=%s capeff=%s" % (entry.get("_UID", "?"), entry.get("_CAP_EFFECTIVE", "?"))
        print(who if sys.argv[1:] == ["who"] else message)' "${@:2}"
}

# Root's privileges for a step: uid 0, or at least capabilities (the main process has none).
privileged() { # WHO
    [[ $1 == "uid=0 "* || ($1 == *capeff=* && $1 != *capeff=0 && $1 != *capeff=\?) ]]
}

step_status() { # PROPERTY: the exit status systemd recorded for ExecStartPre/ExecStopPost
    prop "$1" | sed -n 's/.*status=\([0-9]*\).*/\1/p' | head -n 1
}

check_console_steps() {
    local since lines who uid bad=() expected
    uid=$(id -u convlens)
    systemctl stop "$UNIT"
    sleep 1
    fresh_start 2>/dev/null
    lines=$(console_lines "$STARTED_AT")
    who=$(console_lines "$STARTED_AT" who)
    log "console steps at start: $(tr '\n' ';' <<<"$lines") ($who); main process $(ps -o user= -p "$(main_pid)")"
    expected="console: no virtual terminal here (no /dev/tty0): nothing to switch"
    [[ $lines == "$expected" ]] || bad+=("start: '$(tr '\n' ';' <<<"$lines")'")
    privileged "$who" || bad+=("the start step ran without privileges: $who")
    [[ $(step_status ExecStartPre) == 0 ]] || bad+=("ExecStartPre: $(prop ExecStartPre)")
    [[ $(prop ActiveState) == active ]] || bad+=("not active after the start step")
    [[ $(ps -o uid= -p "$(main_pid)" | tr -d ' ') == "$uid" ]] || bad+=("main process not convlens")
    since=$(now)
    systemctl stop "$UNIT"
    lines=$(console_lines "$since")
    [[ -z $lines ]] || bad+=("stop without a note: '$(tr '\n' ';' <<<"$lines")'")
    [[ $(step_status ExecStopPost) == 0 ]] || bad+=("ExecStopPost: $(prop ExecStopPost)")
    [[ $(prop Result) == success ]] || bad+=("stop result $(prop Result)")
    # SIGKILL with a switched VT on record (root's note, as the start step writes it on
    # a Pi): the stop step runs before the restart's start step and gives /dev/tty1
    # back, here in one line saying there is no such device, and removes the note.
    fresh_start 2>/dev/null
    local old
    old=$(main_pid)
    printf '/dev/tty1\n' >/run/convlens-console
    since=$(now)
    systemctl kill -s SIGKILL --kill-whom=main "$UNIT"
    wait_until 60 is_running_with_new_pid "$old" || bad+=("no restart after SIGKILL")
    lines=$(console_lines "$since")
    who=$(console_lines "$since" who | head -n 1)
    log "console steps around a SIGKILL: $(tr '\n' ';' <<<"$lines") (stop step: $who)"
    expected=$(printf '%s\n' \
        "console: cannot give /dev/tty1 back to text mode (No such file or directory)" \
        "console: no virtual terminal here (no /dev/tty0): nothing to switch")
    [[ $lines == "$expected" ]] || bad+=("SIGKILL: '$(tr '\n' ';' <<<"$lines")'")
    privileged "$who" || bad+=("the stop step ran without privileges: $who")
    [[ -e /run/convlens-console ]] && bad+=("the stop step left its note")
    [[ $(step_status ExecStopPost) == 0 ]] || bad+=("ExecStopPost after SIGKILL: $(prop ExecStopPost)")
    if ((${#bad[@]})); then
        fail console-steps-as-root "${bad[*]}"
    else
        pass console-steps-as-root
    fi
}

# Everything install.sh writes, with contents and modes.
installed_state() {
    find /opt/convlens /etc/convlens /etc/systemd/system -xdev \( -type f -o -type l \) \
        -not -path '*/__pycache__/*' -printf '%p %m %s %T@\n' 2>/dev/null | sort
}

check_install_again() {
    fresh_start
    local pid before out rc
    pid=$(main_pid)
    before=$(installed_state)
    out=$(cd "$SRC" && systemd/install.sh 2>&1)
    rc=$?
    prefixed "install again" <<<"$out"
    if ((rc != 0)); then
        fail install-again-no-op "exit $rc"
    elif [[ $out != *"nothing changed: everything was already up to date"* ]]; then
        fail install-again-no-op "it changed something: $(grep -E 'installed|updated|running:' <<<"$out" | head -n 3 | tr '\n' ' ')"
    elif [[ $(installed_state) != "$before" ]]; then
        fail install-again-no-op "files changed: $(diff <(echo "$before") <(installed_state) | head -n 4 | tr '\n' ' ')"
    elif [[ $(main_pid) != "$pid" ]]; then
        fail install-again-no-op "the service was restarted"
    else
        pass install-again-no-op
    fi
}

# The unit allows /dev/media* by class name, resolved when the service starts: install.sh
# has systemd-modules-load load mc before it. (A container loads no modules:
# systemd-modules-load is skipped there for want of CAP_SYS_MODULE, so this checks the file.)
check_modules_load() {
    local file=/etc/modules-load.d/convlens.conf modules
    modules=$(grep -v '^#' "$file" 2>/dev/null | tr '\n' ' ')
    if [[ $modules == "mc " && $(stat -c %a "$file") == 644 ]]; then
        pass modules-load-mc
    else
        fail modules-load-mc "$file holds '$modules' (mode $(stat -c %a "$file" 2>&1))"
    fi
}

# The desktop image: a display manager and graphical.target. `sudo systemd/install.sh`
# from the desktop user's account adds the kiosk autostart entry for that user; the rest
# of the installation is unchanged, so the service keeps running.
readonly DESKTOP_USER=pi
readonly KIOSK_ENTRY=/home/$DESKTOP_USER/.config/autostart/convlens-kiosk.desktop
check_desktop_autostart() {
    useradd --create-home --shell /bin/bash "$DESKTOP_USER"
    printf '[Unit]\nDescription=a display manager stand-in (tests/pios)\n[Service]\nExecStart=/bin/true\n' \
        >/etc/systemd/system/pios-display-manager.service
    ln -sf pios-display-manager.service /etc/systemd/system/display-manager.service
    systemctl set-default graphical.target 2>/dev/null
    local pid out rc bad=() want
    pid=$(main_pid)
    out=$(cd "$SRC" && SUDO_USER=$DESKTOP_USER systemd/install.sh 2>&1)
    rc=$?
    prefixed "install desktop" <<<"$out"
    want="Exec=/opt/convlens/venv/bin/convlens kiosk --config $CONFIG"
    ((rc == 0)) || bad+=("exit $rc")
    if [[ ! -f $KIOSK_ENTRY ]]; then
        bad+=("no $KIOSK_ENTRY")
    else
        grep -qx "$want" "$KIOSK_ENTRY" || bad+=("the entry lacks '$want'")
        [[ $(stat -c %U "$KIOSK_ENTRY") == "$DESKTOP_USER" ]] || bad+=("entry owned by $(stat -c %U "$KIOSK_ENTRY")")
        [[ $(stat -c %U "$(dirname "$KIOSK_ENTRY")") == "$DESKTOP_USER" ]] || bad+=("autostart/ not the user's")
    fi
    [[ $out == *"desktop image: convlens shows full screen when $DESKTOP_USER logs in"* ]] \
        || bad+=("install.sh does not say what the desktop shows")
    [[ $(main_pid) == "$pid" ]] || bad+=("the service was restarted")
    if ((${#bad[@]})); then
        fail desktop-autostart "${bad[*]}"
    else
        pass desktop-autostart
    fi
    rm -f /etc/systemd/system/display-manager.service /etc/systemd/system/pios-display-manager.service
    systemctl set-default multi-user.target 2>/dev/null
}

# Anything on the file system still owned by the service user, or named convlens.
leftovers() {
    local uid=$1
    find / -xdev \( -path /proc -o -path /sys -o -path /pios -o -path /root -o -path /run \) -prune \
        -o \( -uid "$uid" -o -name 'convlens*' \) -print 2>/dev/null | sort
}

check_uninstall() {
    local uid out rc
    uid=$(id -u convlens)
    out=$(cd "$SRC" && SUDO_USER=$DESKTOP_USER systemd/install.sh --uninstall 2>&1)
    rc=$?
    prefixed uninstall <<<"$out"
    local left expected bad=()
    left=$(leftovers "$uid")
    expected=$(printf '%s\n' /etc/convlens /var/lib/convlens /var/lib/convlens/snapshots | sort)
    ((rc == 0)) || bad+=("exit $rc")
    [[ -s $CONFIG ]] || bad+=("$CONFIG is gone")
    [[ $left == "$expected" ]] || bad+=("left: $(tr '\n' ' ' <<<"$left")")
    [[ $(prop LoadState) == not-found ]] || bad+=("unit still $(prop LoadState)")
    [[ -e $KIOSK_ENTRY ]] && bad+=("$KIOSK_ENTRY kept")
    pgrep -u "$uid" >/dev/null && bad+=("a convlens process still runs")
    if ((${#bad[@]})); then
        fail uninstall-keeps-config-and-state "${bad[*]}"
    else
        pass uninstall-keeps-config-and-state
    fi

    out=$(cd "$SRC" && SUDO_USER=$DESKTOP_USER systemd/install.sh --uninstall --purge 2>&1)
    rc=$?
    prefixed purge <<<"$out"
    bad=()
    ((rc == 0)) || bad+=("exit $rc")
    left=$(leftovers "$uid")
    [[ -z $left ]] || bad+=("left: $(tr '\n' ' ' <<<"$left")")
    getent passwd convlens >/dev/null && bad+=("user convlens")
    getent group convlens >/dev/null && bad+=("group convlens")
    if ((${#bad[@]})); then
        fail uninstall-purge-leaves-nothing "${bad[*]}"
    else
        pass uninstall-purge-leaves-nothing
    fi
}

# Python tracebacks anywhere in the run's journal (both boots: it is kept in /var/log).
# The two deliberate faults above (SIGSEGV, and SIGABRT from the watchdog) make
# faulthandler print one "Fatal Python error" each, by design (PYTHONFAULTHANDLER=1), or
# one or two when `checked` ran their check again; any other is a finding.
check_journal() {
    local tracebacks fatal segv=1 abrt=1
    [[ $RAN_AGAIN == *" check_crash_restarts "* ]] && segv="[12]"
    [[ $RAN_AGAIN == *" check_watchdog_restarts "* ]] && abrt="[12]"
    tracebacks=$(journalctl -o cat --no-pager | grep -c 'Traceback (most recent call last)')
    fatal=$(journalctl -o cat --no-pager | grep 'Fatal Python error' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    log "journal: $tracebacks tracebacks; fatal errors: $fatal"
    if ((tracebacks > 0)); then
        fail journal-no-traceback "$tracebacks tracebacks (journal.txt): $(journalctl -o cat --no-pager | grep -A 3 -m 1 'Traceback (most recent' | tail -n 1)"
    elif ! [[ $fatal =~ ^\ $abrt\ Fatal\ Python\ error:\ Aborted\;\ $segv\ Fatal\ Python\ error:\ Segmentation\ fault\;$ ]]; then
        fail journal-no-traceback "fatal errors other than the two deliberate ones: $fatal"
    else
        pass journal-no-traceback
    fi
}

# `make` on a Pi: the system Python has apt's picamera2, so the venv sees system
# packages and keeps apt's numpy; `make run` then uses the camera.
check_make_run() {
    local out cfg
    cfg=$(sed -n 's/^include-system-site-packages = //p' "$SRC/.venv/pyvenv.cfg")
    out=$(cd "$SRC" && timeout -s INT 90 make run ARGS="--display null --log-level info" 2>&1)
    log "make run: $(grep -E 'source auto|picamera2:|demo' <<<"$out" | head -n 3 | tr '\n' ' ')"
    if [[ $cfg != true ]]; then
        fail make-run-sees-apt-picamera2 ".venv has include-system-site-packages = $cfg"
    elif [[ $out != *"source auto: picamera2"* ]]; then
        fail make-run-sees-apt-picamera2 "$(grep -m 1 -i -E 'source|error' <<<"$out")"
    else
        pass make-run-sees-apt-picamera2
    fi
}

# The project's own tests on this userland: `make test` as on a Pi (ruff and pytest in
# the --system-site-packages venv with apt's numpy). Not the realtime tests: they assert
# a camera's 30 fps, and under qemu times are not Pi times (pyproject.toml's markers).
# /etc/pios/suite-markers (CONVLENS_PIOS_SUITE_MARKERS) narrows it further.
# /etc/pios/suite-share "K/N" runs the K-th of every N test files (CONVLENS_PIOS_SUITE_SPLIT).
check_suite() {
    local started rc summary markers="not realtime" narrowed share files=""
    narrowed=$(cat /etc/pios/suite-markers 2>/dev/null)
    [[ -n $narrowed ]] && markers="($narrowed) and not realtime"
    share=$(cat /etc/pios/suite-share 2>/dev/null)
    if [[ $share =~ ^([0-9]+)/([0-9]+)$ ]]; then
        files=$(cd "$SRC" && find tests -name 'test_*.py' -not -path 'tests/pios/*' | LC_ALL=C sort \
            | awk -v k="${BASH_REMATCH[1]}" -v n="${BASH_REMATCH[2]}" '(NR - 1) % n == k - 1' | tr '\n' ' ')
        log "suite: share $share of the test files: $(wc -w <<<"$files") files"
    fi
    started=$(now)
    # Hang guards of the slow end-to-end tests x5 (tests/waiting.py hang_guard): a
    # fine-tune that takes ~20 s natively takes 10-25 min emulated, beside the live loop.
    (cd "$SRC" && CONVLENS_MNIST_DIR=/pios/mnist CONVLENS_TEST_TIME_FACTOR=5 make test ARGS="-q -p no:cacheprovider -m '$markers' $files") \
        >/pios/results/suite.log 2>&1
    rc=$?
    summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed)' /pios/results/suite.log | tail -n 1 | tr -d '=')
    log "make test -m '$markers' ${share:+(share $share)}: exit $rc in $(seconds_since "$started") s: $summary"
    if ((rc == 0)); then
        pass "suite${share:+ share $share} ($summary)"
    else
        fail suite "exit $rc: $(grep -E '^(FAILED|ERROR)' /pios/results/suite.log | head -n 5 | tr '\n' ' ')${summary}"
    fi
}

main() {
    if [[ ! -e $REBOOT_MARK ]]; then
        log "checks for $RELEASE start"
        check_userland
        qemu_user_dropin
        check_install && check_modules_load && reboot_once
    fi
    if [[ -e $REBOOT_MARK ]]; then
        log "checks for $RELEASE: after the reboot"
        checked check_comes_up_after_reboot
        checked check_notify_start
        checked check_hardening_loaded
        checked check_sandbox_in_effect
        checked check_status_and_litert
        checked check_numpy_is_apts
        checked check_no_user_site
        checked check_reads_digits
        checked check_classify
        checked expect_config_exit config-error-not-restarted web port '"eighty"' "[web] port"
        # The sandbox hides /home: a model there is refused at start, by name.
        mkdir -p /home/pi
        cp /opt/convlens/models/lenet_float32.tflite /home/pi/
        checked expect_config_exit home-path-refused model path '"/home/pi/lenet_float32.tflite"' \
            "[model] path '/home/pi/lenet_float32.tflite': cannot enter /home (hidden by the service's ProtectHome=yes)"
        rm -rf /home/pi
        checked check_camera_open_error_retried
        checked check_crash_restarts
        checked check_watchdog_restarts
        checked check_stop_time
        checked check_console_steps
        checked check_install_again
        # The checks after this change the system once; they are not repeated.
        check_desktop_autostart
        check_uninstall
    fi
    check_journal
    check_suite
    check_make_run
    journalctl --no-pager >/pios/results/journal.txt
    echo DONE >>"$RESULTS"
}

# Sourced (tests/test_pios_checks.py) it only defines the functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
