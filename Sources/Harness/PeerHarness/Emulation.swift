#if canImport(Glibc)
import Glibc
#endif

/// The tests run under qemu-user (packaging/arm64/test sets
/// VMCLOCKD_TEST_EMULATOR=qemu-user): the arm64 binaries are translated, so
/// their CPU time and context switches are the emulator's, and CNTVCT_EL0 is
/// the host's clock in whole microseconds while the page's period says 1 GHz.
public let underEmulation = getenv("VMCLOCKD_TEST_EMULATOR") != nil

/// What every wait for something to happen multiplies its deadline by.
/// Translated code runs several times slower, and on a loaded machine an
/// emulated daemon resumed correctly but sent its third sample after the
/// 3 s a native one is given. Waits only return early on success, so a
/// longer deadline slows nothing that passes; it only delays a failure.
public let deadlineScale: Double = underEmulation ? 4 : 1
