#ifndef VMCLOCKD_ALLOCATION_COUNT_H
#define VMCLOCKD_ALLOCATION_COUNT_H
/// Heap allocations so far in this process (while preloaded).
unsigned long long vmclockd_allocation_count(void);
/// Heap allocations so far by the calling thread (while preloaded or linked).
unsigned long long vmclockd_thread_allocation_count(void);
#endif
