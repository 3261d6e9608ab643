/* What Trixie's systemd 257 asks of qemu-user that qemu-user cannot do, done another way
 * (tests/pios/run.sh preloads it into the Trixie container; not part of convlens).
 *
 * 1. pidfd_spawn().
 * Trixie's systemd 257 starts every unit and mount with glibc's pidfd_spawn(), which
 * clones with CLONE_PIDFD (clone3, then clone). qemu-user implements neither clone3 nor
 * CLONE_PIDFD (7.2 and 10.0 alike: ENOSYS, then EINVAL), so in the container nothing
 * would start. This pidfd_spawn() spawns with posix_spawn() (CLONE_VM | CLONE_VFORK,
 * which qemu runs as a fork) and opens the child's pidfd afterwards (the child cannot be
 * reaped in between: the caller reaps it). Asked to spawn straight into a cgroup
 * (POSIX_SPAWN_SETCGROUP, clone3 only) it answers EOPNOTSUPP, as glibc does on a kernel
 * without clone3: systemd then spawns without it and moves the child into the unit's
 * cgroup itself.
 *
 * systemd also executes systemd-executor through /proc/self/fd/N of an O_CLOEXEC fd it
 * opened at start. For a foreign binary the kernel hands binfmt_misc's interpreter (qemu)
 * that path to open, and it is gone by then (ENOENT; Debian registers qemu without the
 * O flag that would pass the open file instead), so such a path is spawned by the name
 * the fd was opened with.
 *
 *
 * 2. clone(CLONE_NEWNS) through syscall(): systemd forks its helpers for credentials and
 * for the service's mount namespace (safe_fork with FORK_NEW_MOUNTNS) that way, and qemu
 * refuses namespace flags in clone (EINVAL: "Failed to set up mount namespacing",
 * "Failed to set up credentials"). Here the child is cloned without the flag and then
 * unshares its mount namespace, which qemu passes to the kernel: the same new namespace,
 * one system call later, in a child that has not run anything yet.
 *
 * 3. statx()'s mount id: qemu answers STATX_MNT_ID without copying stx_mnt_id (0 for
 * every file). Before it pivots into a service's new root, systemd asks whether that
 * root is already "/" by comparing device, inode and mount id; a bind mount of "/" then
 * looks like "/" itself, the pivot is skipped and the service runs unsandboxed. Here the
 * mount id comes from /proc/self/fdinfo, as the kernel reports it there.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <limits.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef POSIX_SPAWN_SETCGROUP
#define POSIX_SPAWN_SETCGROUP 0x100 /* glibc 2.39's value; the cross toolchain's is older */
#endif

int pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *actions,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);

int pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *actions,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    short flags = 0;
    pid_t pid;
    long fd;
    int error;

    if (attr != NULL && posix_spawnattr_getflags(attr, &flags) != 0)
        return EINVAL;
    if (flags & POSIX_SPAWN_SETCGROUP)
        return EOPNOTSUPP;
    char target[PATH_MAX];
    if (strncmp(path, "/proc/self/fd/", 14) == 0) {
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n > 0 && target[0] == '/') {
            target[n] = '\0';
            path = target;
        }
    }
    error = posix_spawn(&pid, path, actions, attr, argv, envp);
    if (error != 0)
        return error;
    fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return errno;
    *pidfd = (int)fd;
    return 0;
}

long syscall(long number, ...);

long syscall(long number, ...)
{
    static long (*real_syscall)(long, ...);
    long a[6];
    va_list ap;

    va_start(ap, number);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (real_syscall == NULL)
        real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    if (number == SYS_clone && (a[0] & CLONE_NEWNS) && !(a[0] & (CLONE_VM | CLONE_THREAD))) {
        long pid = real_syscall(SYS_clone, a[0] & ~(long)CLONE_NEWNS, a[1], a[2], a[3], a[4]);
        if (pid == 0 && unshare(CLONE_NEWNS) < 0)
            _exit(EXIT_FAILURE);
        return pid;
    }
    return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The mount id of what statx(dirfd, path, flags) looked at, from /proc/self/fdinfo. */
static int mount_id_of(int dirfd, const char *path, int flags, uint64_t *id)
{
    int fd = dirfd, own = 0, n;
    char name[64], text[512], *field;

    if (path != NULL && *path != '\0') {
        fd = openat(dirfd, path, O_PATH | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
        own = 1;
    } else if (dirfd == AT_FDCWD) {
        fd = open(".", O_PATH | O_CLOEXEC);
        own = 1;
    }
    if (fd < 0)
        return -1;
    snprintf(name, sizeof(name), "/proc/self/fdinfo/%d", fd);
    int info = open(name, O_RDONLY | O_CLOEXEC);
    n = info < 0 ? -1 : (int)read(info, text, sizeof(text) - 1);
    if (info >= 0)
        close(info);
    if (own)
        close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    field = strstr(text, "mnt_id:");
    if (field == NULL)
        return -1;
    *id = strtoull(field + 7, NULL, 10);
    return 0;
}

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf);

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)
{
    static int (*real_statx)(int, const char *, int, unsigned int, struct statx *);
    uint64_t id;

    if (real_statx == NULL)
        real_statx = (int (*)(int, const char *, int, unsigned int, struct statx *))dlsym(RTLD_NEXT, "statx");
    int r = real_statx(dirfd, path, flags, mask, buf);
    if (r == 0 && (mask & STATX_MNT_ID) && buf->stx_mnt_id == 0) {
        int saved = errno;
        if (mount_id_of(dirfd, path, flags, &id) == 0)
            buf->stx_mnt_id = id;
        else
            buf->stx_mask &= ~STATX_MNT_ID;
        errno = saved;
    }
    return r;
}
