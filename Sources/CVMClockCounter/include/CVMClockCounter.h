// The only C in vmclockd: reading the CPU counter the vmclock page describes,
// and the memory barriers of the page's seqlock, all static inline so Swift
// sees real instructions, not opaque calls; and the loop's signal-aware wait
// (vmclock_signals.h), which needs a signal handler.
#ifndef CVMCLOCK_COUNTER_H
#define CVMCLOCK_COUNTER_H

#include <stdint.h>
#include "vmclock_signals.h"

// Values of the page's counter_id field (linux/vmclock-abi.h).
#define VMCLOCK_COUNTER_ID_ARM64_CNTVCT 0
#define VMCLOCK_COUNTER_ID_X86_TSC 1
#define VMCLOCK_COUNTER_ID_NONE 0xff

// counter_id of the counter this build reads, or VMCLOCK_COUNTER_ID_NONE.
static inline uint8_t vmclock_native_counter_id(void) {
#if defined(__x86_64__)
    return VMCLOCK_COUNTER_ID_X86_TSC;
#elif defined(__aarch64__)
    return VMCLOCK_COUNTER_ID_ARM64_CNTVCT;
#else
    return VMCLOCK_COUNTER_ID_NONE;
#endif
}

// One ordered counter read. The fences keep the read inside its bracket: the
// leading one waits for earlier instructions (so a clock_gettime() before it
// has finished), the trailing one stops later loads from starting before the
// counter is sampled. Without them the CPU may execute RDTSC early or late and
// the cross-timestamp window would lie.
static inline uint64_t vmclock_read_counter(void) {
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ __volatile__("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
#elif defined(__aarch64__)
    uint64_t value;
    __asm__ __volatile__("isb\n\tmrs %0, cntvct_el0\n\tisb" : "=r"(value) : : "memory");
    return value;
#else
    return 0;
#endif
}

// seq_count is read with acquire semantics so the field loads after it cannot
// be satisfied before it.
static inline uint32_t vmclock_load_acquire_u32(const void *address) {
    return __atomic_load_n((const uint32_t *)address, __ATOMIC_ACQUIRE);
}

// A 64-bit field (disruption_marker, vm_generation_counter) read between the
// two seq_count loads of a check that the page is unchanged: relaxed, since
// the acquire load before and the barrier after order it.
static inline uint64_t vmclock_load_u64(const void *address) {
    return __atomic_load_n((const uint64_t *)address, __ATOMIC_RELAXED);
}

// Read barrier between copying the fields and re-reading seq_count.
static inline void vmclock_read_barrier(void) {
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

// Write side (vmclock-sim). Fields are stored with relaxed atomics because a
// reader may race them; the barrier between seq_count and the fields is a full
// fence, which orders store-store on every architecture (on arm64 a release
// fence would too, but the writer is not hot and a full fence is obviously right).
static inline void vmclock_store_u32(void *address, uint32_t value) {
    __atomic_store_n((uint32_t *)address, value, __ATOMIC_RELAXED);
}

static inline void vmclock_write_barrier(void) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

// Relaxed 64-bit store for field writes that a reader may race.
static inline void vmclock_store_u64(void *address, uint64_t value) {
    __atomic_store_n((uint64_t *)address, value, __ATOMIC_RELAXED);
}

// ClockBound's segment: its version and generation are u16 that readers
// (`vmclockd now`, `wait`) load, as seq_count is, while the writer
// (DaemonPublication) stores them.
static inline uint16_t vmclock_load_acquire_u16(const void *address) {
    return __atomic_load_n((const uint16_t *)address, __ATOMIC_ACQUIRE);
}

static inline void vmclock_store_u16(void *address, uint16_t value) {
    __atomic_store_n((uint16_t *)address, value, __ATOMIC_RELAXED);
}

static inline void vmclock_cpu_relax(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
