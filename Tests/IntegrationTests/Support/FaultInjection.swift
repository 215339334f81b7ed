import Foundation
import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The preloaded fault-injection library (the package's
/// `vmclockd-fault-injection` product, Sources/Harness/CFaultInjection,
/// beside the test binary as every built product), and one daemon's control
/// block (a file the library maps shared; this side reads and writes it with
/// pread/pwrite, which see the same page).
struct FaultInjection {
    /// The library; a failure (not a skip) when the build did not make it.
    static let library: Result<String, HarnessError> = {
        let path = Products.directory.appendingPathComponent("libvmclockd-fault-injection.so").path
        guard access(path, R_OK) == 0 else {
            return .failure(HarnessError("\(path) is not built (swift build --build-tests builds it)"))
        }
        return .success(path)
    }()

    /// struct vmclockd_fault_control (fault_injection.h): the counters.
    struct Control: CustomStringConvertible {
        var openCalls: UInt64, openFailures: UInt64, readCalls: UInt64, readFailures: UInt64
        var description: String { "open \(openFailures)/\(openCalls) failed, pread \(readFailures)/\(readCalls) failed" }
    }

    let controlPath: String
    private let descriptor: Int32

    /// A control file of its own (removed by `close`), so it can be made
    /// before the rig whose daemon it is handed to.
    init(refuseMapping: Bool) throws {
        controlPath = "/tmp/vmclockd-faults-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        descriptor = open(controlPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0, ftruncate(descriptor, 4096) == 0 else { throw HarnessError("cannot make \(controlPath)") }
        store(refuseMapping ? 1 : 0, at: 8)
    }

    /// `/usr/bin/env` with the preload and its settings, to put before the daemon's arguments.
    func environment(faulting path: String) throws -> [String] {
        ["/usr/bin/env", "LD_PRELOAD=\(try Self.library.get())", "VMCLOCKD_FAULT_PATH=\(path)",
         "VMCLOCKD_FAULT_CONTROL=\(controlPath)"]
    }

    func set(openErrno: Int32) { store(openErrno, at: 0) }
    func set(readErrno: Int32) { store(readErrno, at: 4) }

    var control: Control {
        var counters = [UInt64](repeating: 0, count: 4)
        _ = counters.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 16) }
        return Control(openCalls: counters[0], openFailures: counters[1], readCalls: counters[2], readFailures: counters[3])
    }

    private func store(_ value: Int32, at offset: Int) {
        var value = value
        _ = withUnsafeBytes(of: &value) { pwrite(descriptor, $0.baseAddress, 4, off_t(offset)) }
    }

    func close() {
        _ = Glibc.close(descriptor)
        unlink(controlPath)
    }
}
