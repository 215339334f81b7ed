import Testing
@testable import DaemonCore
@testable import DaemonLoop
import VMClockPage
#if canImport(Glibc)
import Glibc
import SystemPackage
#endif

/// The kernel marked the TSC unstable: a skew between vCPUs that passes the
/// bracket and the rate checks, which the kernel's own vmclock driver
/// refuses (`check_tsc_unstable()`).
@Suite struct KernelTSC {
    @Test func anUnstableTSCHoldsAndAStableOneTracksAgain() {
        var s = Scenario()
        s.startTracking()
        s.core.kernelTSC(unstable: true)
        s.run(milliseconds: 10)
        #expect(s.state == .holding(.tscUnstable))
        #expect(s.core.sample == nil)
        #expect(s.core.calibration.spanNanoseconds == 0, "what was measured on it is dropped")
        let held = s.history.compactMap { if case .log(let event) = $0, case .stateChanged(_, .holding(.tscUnstable)) = event { event } else { nil } }
        #expect(held.count == 1 && held[0].isWarning)
        #expect(held.first?.message.contains("Marking TSC unstable") == true)
        s.run(milliseconds: 1_000)
        #expect(s.state == .holding(.tscUnstable))
        s.core.kernelTSC(unstable: false)
        s.run(milliseconds: 100)
        #expect(s.state == .tracking)
        #expect(s.acknowledgedResets == 0, "not a disruption: chronyd keeps its history")
    }

    /// arm64's counter is no TSC: the kernel's verdict on a TSC says nothing of it.
    @Test func theVerdictMattersOnlyWhereTheCounterIsTheTSC() {
        var core = DaemonCore(configuration: DaemonConfiguration(), nativeCounter: .arm64VirtualCounter)
        core.kernelTSC(unstable: true)
        #expect(!core.tscUnstable)
    }

    @Test(arguments: [
        ("tsc hpet acpi_pm \n", KernelTSCWatch.Verdict.trusted), ("kvm-clock tsc\n", .trusted), ("tsc", .trusted),
        ("kvm-clock hpet acpi_pm \n", .unstable), ("tsc-early hpet\n", .unstable), ("xtsc \n", .unstable), ("\n", .unstable),
    ])
    func tscMustBeListed(text: String, verdict: KernelTSCWatch.Verdict) {
        #expect(Array(text.utf8).withUnsafeBytes { KernelTSCWatch.verdict($0) } == verdict)
    }

    /// Read from a file at most every few seconds, and at once after `checkSoon`.
    @Test func theFileIsReadWhenACheckIsDue() throws {
        let path = "/tmp/vmclockd-clocksource-test-\(getpid())"
        defer { unlink(path) }
        let watch = KernelTSCWatch(path: path)
        #expect(watch.check(now: 0) == .unreadable(.noSuchFileOrDirectory))
        #expect(watch.check(now: 1_000_000_000) == nil, "not again within the interval")
        try write("tsc hpet\n", to: path)
        #expect(watch.check(now: KernelTSCWatch.intervalNanoseconds) == .trusted)
        try write("hpet\n", to: path)
        watch.checkSoon()
        #expect(watch.check(now: KernelTSCWatch.intervalNanoseconds + 1) == .unstable)
    }

    private func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(text.withCString { Glibc.write(fd, $0, strlen($0)) } == text.utf8.count)
    }
}
