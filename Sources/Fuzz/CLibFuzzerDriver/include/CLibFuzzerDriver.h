#ifndef VMCLOCKD_LIBFUZZER_DRIVER_H
#define VMCLOCKD_LIBFUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt, FuzzerDriver.cpp), linked in by
// -sanitize=fuzzer. Declared only: the fuzz targets call it in builds with
// -DVMCLOCK_FUZZING, where libFuzzer is linked, and never otherwise.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
