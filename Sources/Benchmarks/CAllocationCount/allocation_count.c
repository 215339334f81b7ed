// Counts every heap allocation of the process it is preloaded into
// (LD_PRELOAD), for the daemon benchmark's "allocations per look". The count
// lives in a shared file mapping named by VMCLOCKD_ALLOCATION_COUNT_FILE, so
// the benchmark reads it from outside at any moment without signalling the
// process under test. glibc's own entry points do the allocating.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "allocation_count.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static _Atomic unsigned long long fallback;
static _Atomic unsigned long long *counter = &fallback;

__attribute__((constructor)) static void map_counter(void) {
    const char *path = getenv("VMCLOCKD_ALLOCATION_COUNT_FILE");
    if (path == NULL) return;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    void *mapped = MAP_FAILED;
    if (ftruncate(fd, 4096) == 0) mapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (mapped != MAP_FAILED) counter = mapped;
}

// The calling thread's own count: a test linked with this file counts its
// allocations while other tests of the same process run. initial-exec: the
// thread's slot is found without a call that could itself allocate.
static _Thread_local unsigned long long thread_count __attribute__((tls_model("initial-exec")));

static inline void count_one(void) {
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
    thread_count++;
}

unsigned long long vmclockd_allocation_count(void) { return atomic_load(counter); }
unsigned long long vmclockd_thread_allocation_count(void) { return thread_count; }

void *malloc(size_t size) { count_one(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { count_one(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { count_one(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { count_one(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count_one(); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    count_one();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}
