import Foundation
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// Transient errors are not disruptions. The real daemon reads the
    /// simulator's page; `Tests/fault-injection/fault_injection.c`, built
    /// here with the system's C compiler and preloaded into it, fails its
    /// open() or pread() of the page on command (EMFILE, EIO, the driver's
    /// ETIMEDOUT): faults a real kernel will not give on demand. A device
    /// that really goes away (the simulator unlinks the page) must still be
    /// one. What is asserted is what an operator reads in the log: the hold
    /// and its reason, the resumption, and no disruption line.
    @Suite(.enabled(if: FaultInjection.compilerPath != nil, "needs a C compiler (cc) to build the fault-injection library"))
    struct TransientFaults {
        static let disruption = "disruption: "

        /// A daemon reading a simulated page through the preloaded faults.
        struct Rig {
            let dir: TemporaryDirectory
            let sim: SimulatorProcess
            let daemon: DaemonProcess
            let faults: FaultInjection

            init(refuseMapping: Bool) throws {
                dir = try TemporaryDirectory()
                sim = try SimulatorProcess(page: dir.path("page"))
                faults = try FaultInjection(controlPath: dir.path("fault-control"), refuseMapping: refuseMapping)
                let run = [Products.vmclockd.path, "run", "--device", sim.pagePath,
                           "--refclock-socket", dir.path("chrony/vmclock.sock"),
                           "--control-socket", dir.path("chrony/chronyd.sock"),
                           "--state-file", dir.path("page-identity"), "--interval", "0.25"]
                daemon = try DaemonProcess(arguments: faults.environment(faulting: sim.pagePath) + run, logPath: dir.path("daemon.log"))
            }

            func stop() {
                _ = daemon.stop()
                sim.stop()
                faults.close()
                dir.remove()
            }

            var report: String { daemon.logLines().suffix(30).joined(separator: "\n") }
        }

        @Test func failingReadsHoldWithTheirReasonAndBackOffWithoutADisruption() throws {
            let rig = try Rig(refuseMapping: true)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try #require(rig.faults.control.readCalls > 0, "the daemon does not read through pread(): the fault cannot reach it")

            rig.faults.set(readErrno: EIO)
            let hold = rig.daemon.waitForLog(containing: "→ holding/failing: device read failing", within: 10)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold?.contains("Input/output error") == true, "the reason names the error: \(hold ?? "")")
            #expect(hold?.contains("not a disruption") == true, "\(hold ?? "")")
            // Failing for a while: the daemon keeps trying, less and less often.
            let failingFrom = rig.faults.control.readFailures
            let window = ContinuousClock.now
            try #require(eventually(within: 20) { rig.faults.control.readFailures >= failingFrom + 5 }, "\(rig.faults.control)")
            let seconds = Double((ContinuousClock.now - window).components.seconds) + 1
            let attempts = rig.faults.control.readFailures - failingFrom
            // Backoff 0.1, 0.2, 0.4, 0.8, 1.6, then every 2 s: at most 5 + seconds/2
            // attempts in the window, where a look every 0.25 s would make 4 a second.
            // An upper bound: a loaded machine only makes fewer.
            #expect(Double(attempts) <= 5 + seconds / 2 + 1, "\(attempts) failed reads in \(seconds) s: no backoff")

            rig.faults.set(readErrno: 0)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 15) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: Self.disruption).isEmpty, "a failing read became a disruption:\n\(rig.report)")
            #expect(rig.daemon.lines(containing: "reset sources").isEmpty, "\(rig.report)")
        }

        @Test func theDriversReadTimeoutIsABusyPageNotAFailingDevice() throws {
            let rig = try Rig(refuseMapping: true)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            rig.faults.set(readErrno: ETIMEDOUT)
            let hold = rig.daemon.waitForLog(containing: "→ holding/busy", within: 10)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold?.contains("page busy") == true, "ETIMEDOUT is the driver's seqlock timeout: \(hold ?? "")")
            rig.faults.set(readErrno: 0)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 15) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: Self.disruption).isEmpty, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "device read failing").isEmpty, "\(rig.report)")
        }

        @Test func aFailingOpenIsAHoldAndTheDeviceComesBackWithoutADisruption() throws {
            let rig = try Rig(refuseMapping: false)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            rig.faults.set(openErrno: EMFILE)
            rig.daemon.send(signal: SIGHUP)   // the daemon reopens the device: the open fails
            let hold = rig.daemon.waitForLog(containing: "→ holding/failing: device read failing", within: 10)
            try #require(hold != nil, "\(rig.report)")
            #expect(hold?.contains("Too many open files") == true, "\(hold ?? "")")
            rig.faults.set(openErrno: 0)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 15) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: Self.disruption).isEmpty, "an EMFILE became a disruption:\n\(rig.report)")
        }

        @Test func aDeviceThatReallyGoesAwayIsStillADisruption() throws {
            let rig = try Rig(refuseMapping: false)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            try rig.sim.send("remove")
            let gone = rig.daemon.waitForLog(containing: Self.disruption, within: 10)
            try #require(gone != nil, "\(rig.report)")
            #expect(rig.daemon.waitForLog(containing: "→ holding/device: device unavailable", within: 10) != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "device read failing").isEmpty, "\(rig.report)")
        }
    }
}

/// The preloaded fault-injection library, built once per test run from
/// Tests/fault-injection, and one daemon's control block (a file the
/// library maps shared; this side reads and writes it with pread/pwrite,
/// which see the same page).
struct FaultInjection {
    static let compilerPath: String? = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { access($0, X_OK) == 0 }

    /// The library, compiled on first use.
    static let library: Result<String, HarnessError> = {
        guard let cc = compilerPath else { return .failure(HarnessError("no C compiler")) }
        let source = Products.repository.appendingPathComponent("Tests/fault-injection/fault_injection.c").path
        let output = NSTemporaryDirectory() + "vmclockd-fault-injection-\(getpid()).so"
        do {
            let built = try runProgram([cc, "-shared", "-fPIC", "-O2", "-o", output, source, "-ldl"], timeout: 60)
            guard built.status == 0 else { return .failure(HarnessError("cc: \(built.stderr)")) }
        } catch {
            return .failure(HarnessError("cc: \(error)"))
        }
        return .success(output)
    }()

    /// struct vmclockd_fault_control (fault_injection.h): the counters.
    struct Control: CustomStringConvertible {
        var openCalls: UInt64, openFailures: UInt64, readCalls: UInt64, readFailures: UInt64
        var description: String { "open \(openFailures)/\(openCalls) failed, pread \(readFailures)/\(readCalls) failed" }
    }

    let controlPath: String
    private let descriptor: Int32

    init(controlPath: String, refuseMapping: Bool) throws {
        self.controlPath = controlPath
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

    func close() { _ = Glibc.close(descriptor) }
}
