// Injects open(), pread() and mmap() failures on one path, for the tests of
// transient device errors (EMFILE, EIO, the driver's ETIMEDOUT): faults the
// kernel cannot be made to produce on demand for a page in a regular file.
// Preloaded (LD_PRELOAD) into the daemon under test; VMCLOCKD_FAULT_PATH
// names the device path, VMCLOCKD_FAULT_CONTROL a file whose first page is
// a shared mapping of struct vmclockd_fault_control, written by the test
// while the daemon runs. Everything else passes through to libc.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>
#include "fault_injection.h"
// Built by SwiftPM as the dynamic library product vmclockd-fault-injection
// (libvmclockd-fault-injection.so beside the test binary), never linked into
// a Swift target: it replaces open() and friends in whatever process loads it.

static struct vmclockd_fault_control fallback;
static volatile struct vmclockd_fault_control *control = &fallback;
static const char *faulted_path;
/* The descriptors open on the path (few: the daemon holds one). */
static _Atomic int faulted_fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1};

static int (*real_open)(const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);

/* Other libraries' constructors may call open() or close() before ours
   runs: every entry point resolves the real functions first. */
static void resolve(void) {
    if (real_mmap != NULL) return;
    real_open = dlsym(RTLD_NEXT, "open");
    real_close = dlsym(RTLD_NEXT, "close");
    real_pread = dlsym(RTLD_NEXT, "pread");
    real_mmap = dlsym(RTLD_NEXT, "mmap");
}

__attribute__((constructor)) static void setup(void) {
    resolve();
    faulted_path = getenv("VMCLOCKD_FAULT_PATH");
    const char *path = getenv("VMCLOCKD_FAULT_CONTROL");
    if (path == NULL) return;
    int fd = real_open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    void *mapped = real_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    real_close(fd);
    if (mapped != MAP_FAILED) control = mapped;
}

static int is_faulted(int fd) {
    for (int i = 0; i < 8; i++) if (atomic_load(&faulted_fds[i]) == fd && fd >= 0) return 1;
    return 0;
}

static void remember(int fd) {
    for (int i = 0; i < 8; i++) {
        int expected = -1;
        if (atomic_compare_exchange_strong(&faulted_fds[i], &expected, fd)) return;
    }
}

static void forget(int fd) {
    for (int i = 0; i < 8; i++) {
        int expected = fd;
        atomic_compare_exchange_strong(&faulted_fds[i], &expected, -1);
    }
}

static void count(volatile uint64_t *counter) { __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

int open(const char *path, int flags, ...) {
    resolve();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list arguments;
        va_start(arguments, flags);
        mode = va_arg(arguments, mode_t);
        va_end(arguments);
    }
    int ours = faulted_path != NULL && strcmp(path, faulted_path) == 0;
    if (ours) {
        count(&control->open_calls);
        int injected = control->open_errno;
        if (injected != 0) {
            count(&control->open_failures);
            errno = injected;
            return -1;
        }
    }
    int fd = real_open(path, flags, mode);
    if (ours && fd >= 0) remember(fd);
    return fd;
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int close(int fd) {
    resolve();
    forget(fd);
    return real_close(fd);
}

ssize_t pread(int fd, void *buffer, size_t count_bytes, off_t offset) {
    resolve();
    if (is_faulted(fd)) {
        count(&control->read_calls);
        int injected = control->read_errno;
        if (injected != 0) {
            count(&control->read_failures);
            errno = injected;
            return -1;
        }
    }
    return real_pread(fd, buffer, count_bytes, offset);
}

ssize_t pread64(int fd, void *buffer, size_t count_bytes, off_t offset) __attribute__((alias("pread")));

void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    resolve();
    if (is_faulted(fd) && control->refuse_mmap) {
        errno = ENODEV;
        return MAP_FAILED;
    }
    return real_mmap(address, length, protection, flags, fd, offset);
}

void *mmap64(void *address, size_t length, int protection, int flags, int fd, off_t offset) __attribute__((alias("mmap")));
