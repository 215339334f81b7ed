import Foundation
import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// The daemon tracks a TSC page from vmclock-sim; a stand-in for the
    /// kernel's available_clocksource loses "tsc" (what the kernel's list
    /// shows once it marked the TSC unstable), then gets it back.
    @Suite(.enabled(if: isX86, "the TSC is x86's counter"))
    struct KernelTSCRun {
        @Test func theDaemonHoldsWhileTheKernelDistrustsTheTSC() throws {
            let files = try TemporaryDirectory()
            defer { files.remove() }
            let list = files.path("available_clocksource")
            try replace(list, with: "tsc kvm-clock hpet acpi_pm \n")
            let rig = try Rig(chronyd: .none, relay: false, interval: 0.0625, options: ["--clocksource-file", list])
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")

            try replace(list, with: "kvm-clock hpet acpi_pm \n")
            let held = try #require(published(rig) { $0.state?.reason == "tsc-unstable" }, "\(rig.report)")
            #expect(held.state?.state == "holding")
            #expect(held.state?.reasonText?.contains("Marking TSC unstable") == true)
            let line = try #require(rig.daemon.lines(containing: "→ holding/tsc-unstable").first, "\(rig.report)")
            #expect(line.contains("reboot the guest"), "the line says what to do: \(line)")
            let metrics = try parseMetrics(String(contentsOfFile: rig.daemon.metricsFilePath, encoding: .utf8))
            #expect(metrics["vmclockd_hold_reason{reason=\"tsc-unstable\"}"] == 1)

            try replace(list, with: "tsc kvm-clock hpet acpi_pm \n")
            try #require(published(rig) { $0.state?.state == "tracking" } != nil, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "→ holding/tsc-unstable").count == 1)
        }
    }
}

private let isX86: Bool = {
    #if arch(x86_64)
    true
    #else
    false
    #endif
}()

/// Replaces the file at once (a rename), as the kernel's attribute changes.
private func replace(_ path: String, with text: String) throws {
    try text.write(toFile: path + ".new", atomically: false, encoding: .utf8)
    guard rename(path + ".new", path) == 0 else { throw POSIXError(.EIO) }
}
