#!/usr/bin/env bash
# The arm64 Raspberry Pi OS test bed: install convlens for real on Debian Bookworm and
# Trixie for arm64 (the userland Raspberry Pi OS is built on), booted under systemd, and
# check the service the way a Pi runs it. `make pios-test` runs it.
#
#   sudo tests/pios/run.sh [bookworm] [trixie]     (default: both)
#   sudo tests/pios/run.sh --prepare [RELEASE...]  only build and cache what they need
#
# For each release it
#   1. builds an arm64 root file system with debootstrap + qemu-user-static (binfmt_misc),
#      once: the result is cached as a tarball under ~/.cache/convlens, named by a hash
#      of everything that goes into it (release, mirror, packages, debootstrap version
#      and the recipe below), so a second run skips the build;
#   2. downloads the Pi's pinned wheels for arm64 once (cached the same way) and serves
#      them to pip in the container as its only index (/etc/pip.conf): the container has
#      no network (its own network namespace, so the service's port 8000 cannot clash
#      with anything on this machine, and runs do not depend on the registry), yet pip
#      resolves the same pins against the same PyPI wheels as on a Pi;
#   3. packages tests/fakes/picamera2 as python3-picamera2 in a local apt repository:
#      install.sh apt-gets it into /usr/lib/python3/dist-packages, where apt puts the
#      real one, importing apt's numpy; the service's venv sees it only through
#      --system-site-packages, as on a Pi;
#   4. boots the copy with `systemd-nspawn --boot` (systemd 252 / 257 as PID 1) and runs
#      tests/pios/checks.sh inside as a systemd service: install.sh for real (not
#      --root), a reboot (README "Run on boot", step 5: systemd-nspawn ends when the
#      container reboots, and the same root is booted again), then every check, each
#      printed as one line, `PASS name` or `FAIL name: why`; the container powers
#      itself off at the end.
# The last line is `pios: N passed, M failed (bookworm, trixie)`; the exit status is 1 if
# anything failed. Under qemu, times are not Pi times: this proves behaviour, not speed.
#
# Needs root, debootstrap, qemu-user-static, systemd-container (systemd-nspawn), zstd,
# git, dpkg-deb, pip (the project's .venv, else python3's) to download the wheels, and
# for Trixie the arm64 cross compiler (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross).
# Environment:
#   CONVLENS_PIOS_CACHE       cache directory (default ~/.cache/convlens)
#   CONVLENS_PIOS_WORK        where containers are unpacked (default /var/tmp/convlens-pios)
#   CONVLENS_PIOS_MIRROR      Debian mirror (default: the one this machine's apt uses)
#   CONVLENS_PIOS_SUITE_MARKERS  which of the project's tests run inside, as a pytest marker
#                             expression, e.g. 'not slow' (the realtime ones never do)
#   CONVLENS_PIOS_TIME_LIMIT  seconds one release may take before it is killed (default 5400)
#   CONVLENS_PIOS_JOBS=2      both releases at once (one per core; default one after another)
#   CONVLENS_PIOS_SUITE_SPLIT=1  split the project's test files between the releases (every
#                             other file, in name order), so that together they run the
#                             suite once; by default each release runs all of it
#   CONVLENS_PIOS_KEEP=1      keep the unpacked containers (they are kept after a failure)
#   CONVLENS_MNIST_DIR        MNIST for the suite (default ../shared/data/mnist)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
CACHE=${CONVLENS_PIOS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/convlens}
WORK_ROOT=${CONVLENS_PIOS_WORK:-/var/tmp/convlens-pios}
# The Debian mirror this machine's apt uses: its first deb822 entry, else sources.list.
host_mirror() {
    local uri
    uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources \
        2>/dev/null | head -n 1)
    [[ -n $uri ]] || uri=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
    printf '%s' "$uri"
}
MIRROR=${CONVLENS_PIOS_MIRROR:-$(host_mirror)}
TIME_LIMIT=${CONVLENS_PIOS_TIME_LIMIT:-5400}
JOBS=${CONVLENS_PIOS_JOBS:-1}
MNIST_DIR=${CONVLENS_MNIST_DIR:-$(cd "$REPO/.." && pwd)/shared/data/mnist}

# What the root file system holds: systemd as init, udev (it creates the input and
# render groups, as on Raspberry Pi OS), Python with apt's venv and numpy, and the
# few tools checks.sh and `make test` use.
readonly ROOTFS_PACKAGES=(systemd systemd-sysv udev dbus passwd python3 python3-venv
    python3-numpy ca-certificates procps curl make)
readonly KNOWN_RELEASES=(bookworm trixie)

say() { printf 'pios: %s\n' "$*" >&2; }
die() {
    printf 'pios: error: %s\n' "$*" >&2
    exit 2
}

python_of() { case $1 in bookworm) echo 3.11 ;; trixie) echo 3.13 ;; esac }
# The CPU qemu emulates: a Raspberry Pi 4's Cortex-A72 under Bookworm and a Pi 5's
# Cortex-A76 under Trixie. Not qemu's default "max" CPU, which no Pi has (SVE, SME,
# i8mm...): with it LiteRT's XNNPACK picks kernels that give the int8 model wrong
# answers under qemu 7.2, while on an A72 or A76 it matches the NumPy reference.
qemu_cpu_of() { case $1 in bookworm) echo cortex-a72 ;; trixie) echo cortex-a76 ;; esac }
glibc_minor_of() { case $1 in bookworm) echo 36 ;; trixie) echo 41 ;; esac }

# --- the machine -------------------------------------------------------------------------

preflight() { # RELEASE...
    ((EUID == 0)) || die "run it as root (debootstrap and systemd-nspawn need it): sudo make pios-test"
    local cmd missing=()
    for cmd in debootstrap systemd-nspawn qemu-aarch64-static zstd dpkg-deb python3 git; do
        command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    [[ " $* " == *" trixie "* ]] && ! command -v aarch64-linux-gnu-gcc >/dev/null \
        && missing+=(aarch64-linux-gnu-gcc)
    ((${#missing[@]} == 0)) || die "missing ${missing[*]}: apt-get install debootstrap qemu-user-static binfmt-support systemd-container zstd dpkg-dev git gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
    # arm64 programs run through qemu via binfmt_misc; its F flag opens the interpreter
    # once, so it works inside the container without a copy of qemu there.
    if [[ ! -e /proc/sys/fs/binfmt_misc/status ]]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc"
    fi
    local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
    if [[ ! -e $entry ]] && command -v update-binfmts >/dev/null; then
        update-binfmts --enable qemu-aarch64 2>/dev/null || true
    fi
    # qemu 8 and later (Debian's qemu-user-binfmt, which qemu-user-static now pulls in)
    # ship only a systemd-binfmt file, which the package registers only when systemd runs
    # the machine: not in a container, a chroot or a CI runner without systemd.
    local conf=/usr/lib/binfmt.d/qemu-aarch64.conf
    if [[ ! -e $entry && -f $conf ]]; then
        say "registering qemu-aarch64 with binfmt_misc from $conf"
        grep -v -e '^[#;]' -e '^$' "$conf" >/proc/sys/fs/binfmt_misc/register \
            || die "cannot register $conf with binfmt_misc"
    fi
    [[ -e $entry ]] || die "no binfmt_misc entry for aarch64: apt-get install qemu-user-static binfmt-support"
    grep -qx enabled "$entry" || die "$entry is disabled: update-binfmts --enable qemu-aarch64"
    grep -q '^flags: .*F' "$entry" || die "$entry lacks the F (fix binary) flag that containers need"
    [[ -n $MIRROR ]] || die "no Debian mirror in /etc/apt (debian.sources or sources.list): set CONVLENS_PIOS_MIRROR"
    mkdir -p "$CACHE" "$WORK_ROOT"
}

# --- cached inputs -----------------------------------------------------------------------

hash_of() { sha256sum | cut -c1-16; }

# The recipe after debootstrap; its text is part of the cache key.
finish_rootfs() {
    local root=$1 release=$2
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/*
    printf 'pios-%s\n' "$release" >"$root/etc/hostname"
    # systemd generates a machine id at first boot of each unpacked copy.
    : >"$root/etc/machine-id"
}

rootfs_tarball() { # RELEASE -> path of the cached tarball (built if missing)
    local release=$1 key tarball
    key=$( {
        echo "recipe 1 $release arm64 minbase $MIRROR ${ROOTFS_PACKAGES[*]}"
        debootstrap --version
        declare -f finish_rootfs
    } | hash_of)
    tarball=$CACHE/pios-rootfs-$release-arm64-$key.tar.zst
    if [[ -f $tarball ]]; then
        say "$release: cached root file system $(basename "$tarball")"
        printf '%s' "$tarball"
        return
    fi
    say "$release: building the arm64 root file system (debootstrap + qemu; minutes)"
    local build started=$SECONDS
    build=$(mktemp -d "$WORK_ROOT/rootfs-$release.XXXXXX")
    local packages
    packages=$(IFS=,; echo "${ROOTFS_PACKAGES[*]}")
    if ! debootstrap --arch=arm64 --variant=minbase --include="$packages" \
        "$release" "$build/root" "$MIRROR" >"$build/debootstrap.log" 2>&1; then
        tail -n 20 "$build/debootstrap.log" >&2
        die "$release: debootstrap failed (log: $build/debootstrap.log)"
    fi
    finish_rootfs "$build/root" "$release"
    tar --numeric-owner -C "$build/root" -cf - . | zstd -q -T0 -3 -o "$build/rootfs.tar.zst"
    mv "$build/rootfs.tar.zst" "$tarball"
    rm -rf "$build"
    say "$release: root file system built in $((SECONDS - started)) s, cached as $tarball"
    printf '%s' "$tarball"
}

# What `make test` installs inside: the project's dependencies and its dev extra, with
# the extras that one names (pyproject.toml), for the wheel download.
project_requirements() {
    python3 - "$REPO/pyproject.toml" <<'EOF'
import re
import sys
import tomllib

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
extras = project["optional-dependencies"]
lines, todo, seen = list(project["dependencies"]), ["dev"], set()
while todo:
    extra = todo.pop()
    seen.add(extra)
    for requirement in extras[extra]:
        named = re.fullmatch(rf"{project['name']}\[(.+)\]", requirement)
        if named:
            todo += [e.strip() for e in named.group(1).split(",") if e.strip() not in seen]
        else:
            lines.append(requirement)
print("\n".join(lines))
EOF
}

wheelhouse() { # RELEASE -> directory of arm64 wheels for the release's Python
    local release=$1 python glibc key dir
    python=$(python_of "$release")
    glibc=$(glibc_minor_of "$release")
    key=$( {
        echo "wheels 1 $release $python $glibc"
        cat "$REPO/systemd/requirements-$release.txt"
        project_requirements
    } | hash_of)
    dir=$CACHE/pios-wheels-$release-$key
    if [[ -d $dir ]]; then
        say "$release: cached wheels $(basename "$dir")"
        printf '%s' "$dir"
        return
    fi
    say "$release: downloading the arm64 wheels for Python $python"
    local started=$SECONDS
    local platforms=(--platform manylinux2014_aarch64) minor
    for minor in $(seq 17 "$glibc"); do
        platforms+=(--platform "manylinux_2_${minor}_aarch64")
    done
    local tmp
    tmp=$(mktemp -d "$WORK_ROOT/wheels-$release.XXXXXX")
    project_requirements >"$tmp/project.txt"
    # pip of the project's venv when `make test` made one (CI), else the system's.
    local pip_python=python3
    [[ -x $REPO/.venv/bin/python ]] && pip_python=$REPO/.venv/bin/python
    if ! "$pip_python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
        "${platforms[@]}" --python-version "$python" --implementation cp \
        --abi "cp${python/./}" --dest "$tmp/wheels" \
        --requirement "$REPO/systemd/requirements-$release.txt" \
        --requirement "$tmp/project.txt" "setuptools>=68" 2>"$tmp/pip.log"; then
        grep -v 'is neither a file nor a directory' "$tmp/pip.log" >&2
        die "$release: pip download of the arm64 wheels failed"
    fi
    mv "$tmp/wheels" "$dir"
    rm -rf "$tmp"
    say "$release: wheels downloaded in $((SECONDS - started)) s, cached as $dir"
    printf '%s' "$dir"
}

# --- one container -----------------------------------------------------------------------

# tests/fakes/picamera2 as apt's python3-picamera2, in a one-package apt repository.
fake_picamera2_repo() { # DIR
    local repo=$1 pkg
    pkg=$(mktemp -d)
    mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib/python3/dist-packages" "$repo"
    cp -R "$REPO/tests/fakes/picamera2" "$pkg/usr/lib/python3/dist-packages/"
    find "$pkg" -name __pycache__ -prune -exec rm -rf {} +
    cat >"$pkg/DEBIAN/control" <<'EOF'
Package: python3-picamera2
Version: 0.3.36-1+convlens.fake
Architecture: all
Maintainer: convlens test bed <convlens@localhost>
Depends: python3, python3-numpy
Section: python
Priority: optional
Description: the convlens test double of picamera2
 tests/fakes/picamera2, installed where Raspberry Pi OS's python3-picamera2
 installs the real library.
EOF
    local deb=$repo/python3-picamera2_0.3.36-1+convlens.fake_all.deb
    dpkg-deb --root-owner-group --build "$pkg" "$deb" >/dev/null
    rm -rf "$pkg"
    {
        dpkg-deb --field "$deb"
        printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$(basename "$deb")" \
            "$(stat -c %s "$deb")" "$(sha256sum "$deb" | cut -d' ' -f1)"
    } >"$repo/Packages"
}

# The /proc/cpuinfo of the Pi whose CPU qemu emulates (qemu_cpu_of), one block per CPU
# of this machine. qemu-user shows programs the host's x86 /proc/cpuinfo, which LiteRT's
# cpuinfo library cannot parse as arm64: it segfaults. That is a qemu artefact (the
# audit ran LiteRT under qemu with a Pi-like cpuinfo, and a Pi's kernel gives this).
pi_cpuinfo() { # RELEASE
    local part=0xd08 variant=0x0 revision=3 model="Raspberry Pi 4 Model B Rev 1.5" board=c03115
    local features="fp asimd evtstrm crc32 cpuid"
    if [[ $(qemu_cpu_of "$1") == cortex-a76 ]]; then
        part=0xd0b variant=0x4 revision=1 model="Raspberry Pi 5 Model B Rev 1.0" board=d04170
        features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
    fi
    local cpu
    for ((cpu = 0; cpu < $(nproc); cpu++)); do
        printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\n' "$cpu" "$features"
        printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: %s\n' "$variant"
        printf 'CPU part\t: %s\nCPU revision\t: %s\n\n' "$part" "$revision"
    done
    printf 'Revision\t: %s\nModel\t\t: %s\n' "$board" "$model"
}

# The checkout as a user clones it: tracked and new files, nothing ignored or deleted.
checkout_files() {
    local path
    git -C "$REPO" ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' path; do
        [[ -e $REPO/$path ]] && printf '%s\0' "$path"
    done
}

# Units that load credentials (systemd-sysctl, -sysusers, -tmpfiles, ...) do it in a mount
# namespace made with clone(CLONE_NEWNS), which qemu-user 7.2 refuses (EINVAL): they
# fail at step CREDENTIALS and the boot is "degraded". There are no credentials to load
# here, so a drop-in empties those settings for each such unit the release ships.
without_credentials() { # ROOT
    local root=$1 unit keys key
    for unit in "$root"/lib/systemd/system/*.service "$root"/usr/lib/systemd/system/*.service; do
        [[ -f $unit ]] || continue
        keys=$(grep -oE '^(LoadCredential|LoadCredentialEncrypted|ImportCredential|SetCredential|SetCredentialEncrypted)=' "$unit" | sort -u) || continue
        mkdir -p "$root/etc/systemd/system/$(basename "$unit").d"
        {
            echo '[Service]'
            for key in $keys; do echo "$key"; done
        } >"$root/etc/systemd/system/$(basename "$unit").d/pios-qemu-user.conf"
    done
}

# Trixie's systemd 257 needs four things qemu-user does not give it (Bookworm's 252 none):
# it spawns every unit with pidfd_spawn() (CLONE_PIDFD) and forks helpers with
# clone(CLONE_NEWNS), both refused by qemu (so nothing would start); it compares statx()
# mount ids, which qemu leaves 0 (so a service's sandbox root is taken for "/" and never
# entered: the service would run unsandboxed); and under qemu /run/systemd/incoming is
# not a mount point, which every unit with a mount namespace (PrivateTmp=,
# ProtectSystem=, ...) needs ("Failed to set up mount namespacing"). A preloaded shim
# does the first three another way (qemu/shim.c says how); a bind mount early in the
# boot makes the mount point.
for_systemd_257() { # ROOT
    local root=$1
    mkdir -p "$root/usr/local/lib/pios"
    aarch64-linux-gnu-gcc -shared -fPIC -O2 -Wall -Wextra -Werror \
        -o "$root/usr/local/lib/pios/qemu-user-shim.so" "$SCRIPT_DIR/qemu/shim.c"
    echo /usr/local/lib/pios/qemu-user-shim.so >"$root/etc/ld.so.preload"
    cat >"$root/etc/systemd/system/run-systemd-incoming.mount" <<'EOF'
[Unit]
Description=systemd's mount point for mounts propagated into services (tests/pios/run.sh)
DefaultDependencies=no
Before=sysinit.target

[Mount]
What=/run/systemd/incoming
Where=/run/systemd/incoming
Type=none
Options=bind
EOF
    mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
    ln -sf ../run-systemd-incoming.mount "$root/etc/systemd/system/sysinit.target.wants/"
}

release_index() { # RELEASE -> its 1-based place in this run's releases
    local i
    for i in "${!RELEASES[@]}"; do
        if [[ ${RELEASES[$i]} == "$1" ]]; then
            echo $((i + 1))
        fi
    done
}

stage() { # RELEASE ROOT STATE_DIR
    local release=$1 root=$2 state=$3
    # The checkout as a user clones it: tracked and new files, nothing ignored.
    mkdir -p "$root/root/convlens"
    checkout_files | (cd "$REPO" && tar --null -T - -cf -) | tar -C "$root/root/convlens" -xf -
    # apt: only the local repository (the container is offline).
    fake_picamera2_repo "$root/var/lib/pios-apt"
    rm -f "$root/etc/apt/sources.list.d/"*
    echo 'deb [trusted=yes] file:/var/lib/pios-apt ./' >"$root/etc/apt/sources.list"
    # pip: only the wheels downloaded for this release.
    printf '[global]\nno-index = true\nfind-links = /pios/wheels\n' >"$root/etc/pip.conf"
    mkdir -p "$root/etc/pios" "$root/usr/local/lib/pios-faults"
    pi_cpuinfo "$release" >"$root/etc/pios/cpuinfo"
    # Every program of the container, services included, on the Pi's CPU.
    mkdir -p "$root/etc/systemd/system.conf.d"
    printf '[Manager]\nDefaultEnvironment=QEMU_CPU=%s\n' "$(qemu_cpu_of "$release")" \
        >"$root/etc/systemd/system.conf.d/pios-qemu-cpu.conf"
    # Bound over /proc/cpuinfo early in the boot (systemd-nspawn cannot bind a host file
    # below /proc), so every program in the container reads it.
    cat >"$root/etc/systemd/system/proc-cpuinfo.mount" <<'EOF'
[Unit]
Description=A Raspberry Pi 4's /proc/cpuinfo for programs under qemu-user (tests/pios/run.sh)
DefaultDependencies=no
Before=sysinit.target

[Mount]
What=/etc/pios/cpuinfo
Where=/proc/cpuinfo
Type=none
Options=bind,ro

[Install]
WantedBy=sysinit.target
EOF
    mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
    ln -sf ../proc-cpuinfo.mount "$root/etc/systemd/system/sysinit.target.wants/proc-cpuinfo.mount"
    cp "$SCRIPT_DIR/faults/sitecustomize.py" "$root/usr/local/lib/pios-faults/"
    if [[ $release == trixie ]]; then
        for_systemd_257 "$root"
    fi
    without_credentials "$root"
    printf 'PIOS_RELEASE=%s\n' "$release" >"$root/etc/pios/env"
    printf '%s\n' "${CONVLENS_PIOS_SUITE_MARKERS:-}" >"$root/etc/pios/suite-markers"
    # Which share of the test files this release runs: "K/N" (the K-th of every N), or all.
    local share=""
    if [[ ${CONVLENS_PIOS_SUITE_SPLIT:-0} == 1 ]]; then
        share="$(release_index "$release")/${#RELEASES[@]}"
    fi
    printf '%s\n' "$share" >"$root/etc/pios/suite-share"
    # The journal kept on disk, so checks.sh reads both boots' (Debian's default keeps it
    # in /run, lost at the reboot).
    mkdir -p "$root/var/log/journal"
    cat >"$root/etc/systemd/system/pios-checks.service" <<'EOF'
[Unit]
Description=convlens arm64 test bed checks (tests/pios/checks.sh)
After=basic.target dbus.service systemd-user-sessions.service

[Service]
Type=exec
EnvironmentFile=/etc/pios/env
ExecStart=/root/convlens/tests/pios/checks.sh
ExecStopPost=/bin/sh -c '[ -e /run/pios-rebooting ] || exec /usr/bin/systemctl poweroff --no-block'
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
    mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
    ln -sf ../pios-checks.service "$root/etc/systemd/system/multi-user.target.wants/pios-checks.service"
}

# --- a cgroup of its own for each container ------------------------------------------------
#
# With --keep-unit, systemd-nspawn makes two cgroups under the one it starts in,
# "payload" for the container and "supervisor" for itself, and the container's systemd
# sees "payload" as the root of its hierarchy (a cgroup namespace). Two containers started
# from the same cgroup (CONVLENS_PIOS_JOBS=2) therefore shared one payload: each systemd
# created and removed the other's /system.slice/convlens.service, and now and then a
# start failed with "Failed to attach to cgroup /system.slice/convlens.service: No such
# file or directory" (status 219/CGROUP) when the other container had just stopped its
# service. So each container starts in a cgroup of its own, removed when it ends.

# The hierarchies systemd-nspawn places the container in, one "MOUNT NAME" line each,
# NAME as /proc/self/cgroup spells the hierarchy: the cgroup2 one (an empty NAME, the
# "0::" line) and, on a hybrid host, the v1 name=systemd one, where nspawn makes its
# payload too. PIOS_CGROUP_HIERARCHIES overrides them (tests).
cgroup_hierarchies() {
    if [[ -n ${PIOS_CGROUP_HIERARCHIES:-} ]]; then
        printf '%s\n' "$PIOS_CGROUP_HIERARCHIES"
    elif [[ $(stat -fc %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
        printf '/sys/fs/cgroup \n'
    elif [[ $(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
        printf '/sys/fs/cgroup/unified \n'
        [[ $(stat -fc %T /sys/fs/cgroup/systemd 2>/dev/null) == cgroupfs ]] \
            && printf '/sys/fs/cgroup/systemd name=systemd\n'
        return 0
    else
        return 1
    fi
}

# NAME: make a cgroup directory for one container in each hierarchy, a child of the
# cgroup this script runs in there (PIOS_SELF_CGROUP, default /proc/self/cgroup), and
# print them, one per line.
container_cgroup() {
    local hierarchies mount name own dir
    hierarchies=$(cgroup_hierarchies) || {
        say "no cgroup2 hierarchy under /sys/fs/cgroup: systemd-nspawn cannot give the container the unified hierarchy"
        return 1
    }
    while read -r mount name; do
        own=$(awk -F: -v name="$name" '$2 == name { sub(/^[^:]*:[^:]*:/, ""); print; exit }' \
            "${PIOS_SELF_CGROUP:-/proc/self/cgroup}")
        dir="$mount${own%/}/$1"
        mkdir -p "$dir" || {
            say "cannot make the container's cgroup $dir"
            return 1
        }
        printf '%s\n' "$dir"
    done <<<"$hierarchies"
}

# DIRS (one per line): remove a container's cgroups and whatever its systemd left below
# them, deepest first (a cgroup directory goes with rmdir once no process is in it).
remove_cgroup() {
    local dir
    while read -r dir; do
        [[ -n $dir && -d $dir ]] || continue
        find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [[ ! -d $dir ]] || say "could not remove the container's cgroup $dir (processes still in it?)"
    done <<<"$1"
}

# Boot the container and wait for it to power itself off (or kill it at the time limit).
# checks.sh reboots it once; systemd-nspawn then exits with 133, and the same root is
# booted again, as a Pi comes back up after `sudo reboot`.
boot() { # RELEASE ROOT STATE_DIR WHEELS
    local release=$1 root=$2 state=$3 wheels=$4
    local binds=(--bind-ro="$wheels:/pios/wheels" --bind="$state/results:/pios/results")
    [[ -d $MNIST_DIR ]] && binds+=(--bind-ro="$MNIST_DIR:/pios/mnist")
    local started=$SECONDS boots=0 rc nspawn cgroup
    : >"$state/console.log"
    while ((boots++ < 2)); do
        cgroup=$(container_cgroup "convlens-pios-$release-$$") || return 1
        # The unified cgroup hierarchy for the container (Trixie's systemd needs it);
        # --register=no --keep-unit: this machine's init need not be systemd. The
        # subshell moves itself into the container's cgroups, then becomes nspawn.
        (
            while read -r dir; do printf '%s\n' "$BASHPID" >"$dir/cgroup.procs"; done <<<"$cgroup"
            SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec systemd-nspawn --boot --quiet \
                --directory="$root" --machine="convlens-$release-$$" \
                --setenv=QEMU_CPU="$(qemu_cpu_of "$release")" \
                --register=no --keep-unit --private-network --console=read-only \
                "${binds[@]}"
        ) >>"$state/console.log" 2>&1 &
        nspawn=$!
        while kill -0 "$nspawn" 2>/dev/null; do
            if ((SECONDS - started > TIME_LIMIT)); then
                say "$release: still running after $TIME_LIMIT s: killing the container"
                # Its init is nspawn's child; SIGKILL to a PID namespace's init ends them all.
                local init
                for init in $(pgrep -P "$nspawn"); do kill -KILL "$init" 2>/dev/null || true; done
                wait "$nspawn" || true
                remove_cgroup "$cgroup"
                return
            fi
            sleep 2
        done
        rc=0
        wait "$nspawn" || rc=$?
        remove_cgroup "$cgroup"
        ((rc == 133)) || return 0
        say "$release: the container rebooted after $((SECONDS - started)) s: booting it again"
    done
}

run_release() { # RELEASE -> appends to $SUMMARY
    local release=$1 tarball wheels work started=$SECONDS
    tarball=$(rootfs_tarball "$release") || return 1
    wheels=$(wheelhouse "$release") || return 1
    work=$(mktemp -d "$WORK_ROOT/$release.XXXXXX") || return 1
    mkdir -p "$work/root" "$work/results"
    zstd -q -dc "$tarball" | tar --numeric-owner -C "$work/root" -xf - || return 1
    stage "$release" "$work/root" "$work" || return 1
    say "$release: booting (console: $work/console.log)"
    : >"$work/results/checks.log"
    tail -n +1 -F "$work/results/checks.log" 2>/dev/null | grep --line-buffered -E '^(PASS|FAIL) ' &
    local tail_pid=$!
    boot "$release" "$work/root" "$work" "$wheels"
    sleep 1
    kill "$tail_pid" 2>/dev/null || true
    wait "$tail_pid" 2>/dev/null || true
    if ! grep -qx DONE "$work/results/checks.log"; then
        printf 'FAIL %s.finished: the checks did not finish; see %s/console.log\n' "$release" "$work" \
            | tee -a "$work/results/checks.log"
    fi
    grep -E '^(PASS|FAIL) ' "$work/results/checks.log" >>"$SUMMARY"
    say "$release: done in $((SECONDS - started)) s"
    if grep -q '^FAIL ' "$work/results/checks.log" || [[ ${CONVLENS_PIOS_KEEP:-0} == 1 ]]; then
        say "$release: kept $work (results/, console.log, root/)"
    else
        rm -rf "$work"
    fi
}

main() {
    local prepare=0
    if [[ ${1:-} == --prepare ]]; then
        prepare=1
        shift
    fi
    local releases=("$@") release
    ((${#releases[@]})) || releases=("${KNOWN_RELEASES[@]}")
    for release in "${releases[@]}"; do
        [[ " ${KNOWN_RELEASES[*]} " == *" $release "* ]] \
            || die "unknown release '$release': expected ${KNOWN_RELEASES[*]}"
    done
    preflight "${releases[@]}"
    RELEASES=("${releases[@]}")
    if ((prepare)); then
        for release in "${releases[@]}"; do
            rootfs_tarball "$release" >/dev/null
            wheelhouse "$release" >/dev/null
        done
        return
    fi
    SUMMARY=$(mktemp)
    trap 'rm -f "$SUMMARY"' EXIT
    local started=$SECONDS pids=()
    if ((JOBS > 1)); then
        # One container per core: qemu runs each emulated process on one host thread.
        for release in "${releases[@]}"; do
            run_release "$release" &
            pids+=($!)
        done
        wait "${pids[@]}" || true
    else
        for release in "${releases[@]}"; do
            run_release "$release" || true
        done
    fi
    for release in "${releases[@]}"; do
        # A release that stopped before its checks (debootstrap, pip download) is a failure.
        grep -q "^[A-Z]* $release\." "$SUMMARY" \
            || printf 'FAIL %s.setup: stopped before the checks; see the messages above\n' "$release" \
            | tee -a "$SUMMARY"
    done
    local passed failed
    passed=$(grep -c '^PASS ' "$SUMMARY" || true)
    failed=$(grep -c '^FAIL ' "$SUMMARY" || true)
    say "total $((SECONDS - started)) s"
    local names
    names=$(printf '%s, ' "${releases[@]}")
    printf 'pios: %d passed, %d failed (%s)\n' "$passed" "$failed" "${names%, }"
    ((failed == 0))
}

# Sourced (tests/test_pios_run.py), it only defines the functions above.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
