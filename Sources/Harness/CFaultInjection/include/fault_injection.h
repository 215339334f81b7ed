#ifndef VMCLOCKD_FAULT_INJECTION_H
#define VMCLOCKD_FAULT_INJECTION_H
#include <stdint.h>

/// The control block, the first bytes of the file named by
/// VMCLOCKD_FAULT_CONTROL: the test writes the errno values, the process
/// under test counts what it did. 0 means "no fault".
struct vmclockd_fault_control {
    int32_t open_errno;      /* open() of VMCLOCKD_FAULT_PATH fails with it */
    int32_t read_errno;      /* pread() of such a descriptor fails with it */
    int32_t refuse_mmap;     /* nonzero: mmap() of such a descriptor fails (ENODEV) */
    int32_t reserved;
    uint64_t open_calls;     /* open() attempts on the path */
    uint64_t open_failures;  /* of which failed by injection */
    uint64_t read_calls;     /* pread() calls on its descriptors */
    uint64_t read_failures;  /* of which failed by injection */
};

#endif
