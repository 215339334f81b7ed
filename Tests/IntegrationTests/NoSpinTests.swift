import Foundation
import TestSupport
import PeerHarness
import Testing

extension LiveDevice {
    /// The daemon must never spin, whatever the device does: notifications
    /// that cannot work, or a host that leaves seq_count odd, must leave it
    /// waking at the watch rate (1/16 s at the defaults), as when idle.
    /// Asserted as counts of wake-ups over a window, measured by the
    /// kernel, and CPU time far below a spinning loop's: a loaded machine
    /// only lowers both. Not under emulation, where both are the
    /// emulator's (its own threads, translated code); the loop is the same
    /// code on every architecture.
    @Suite(.disabled(if: underEmulation, "CPU time and context switches are qemu-user's, not the daemon's"))
    struct NoSpin {
        static let watch = 0.0625

        /// Context switches (every sleep and preemption) and CPU time of a
        /// single-threaded process, from /proc.
        struct Activity {
            var wakeUps: Int
            var cpuNanoseconds: Int64
            var taken: Int64

            init(_ pid: pid_t) throws {
                let status = try #require(readFile("/proc/\(pid)/status"))
                wakeUps = status.split(separator: "\n").filter { $0.contains("ctxt_switches") }
                    .compactMap { Int($0.split(separator: "\t").last ?? "") }.reduce(0, +)
                let schedstat = try #require(readFile("/proc/\(pid)/schedstat"))
                cpuNanoseconds = try #require(Int64(schedstat.split(separator: " ")[0]))
                taken = monotonicNanoseconds()
            }
        }

        /// Runs a tracking daemon on a page that sets NOTIFICATION_PRESENT and
        /// measures it for two seconds.
        static func measure(notifications: String?, _ check: (DaemonProcess, _ wakeUps: Int, _ cpuSeconds: Double, _ seconds: Double) -> Void) throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"), settings: ["flags=+notification_present"])
            defer { sim.stop() }
            let recorder = try RefclockRecorder(path: dir.path("refclock.sock"))
            let daemon = try DaemonProcess(
                device: sim.pagePath, refclockSocket: recorder.path, controlSocket: dir.path("chronyd.sock"),
                options: notifications.map { ["--notification-device", $0] } ?? [], logPath: dir.path("daemon.log"))
            defer { _ = daemon.stop() }
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(daemon.log)")
            let pid = try #require(daemon.pid)
            let before = try Activity(pid)
            var samples = 0
            while monotonicNanoseconds() - before.taken < 2_000_000_000 { samples += recorder.receive(waitingUpTo: 100).count }
            let after = try Activity(pid)
            #expect(samples > 0, "samples kept flowing")
            let seconds = Double(after.taken - before.taken) * 1e-9
            check(daemon, after.wakeUps - before.wakeUps, Double(after.cpuNanoseconds - before.cpuNanoseconds) * 1e-9, seconds)
        }

        static func expectIdle(_ wakeUps: Int, _ cpuSeconds: Double, _ seconds: Double) {
            // Two wake-ups per look at most (a look, and chronyd's or the
            // relay's traffic), where a spinning loop makes thousands.
            #expect(Double(wakeUps) <= 2 * seconds / watch + 10, "\(wakeUps) wake-ups in \(seconds) s")
            #expect(cpuSeconds < 0.1 * seconds, "\(cpuSeconds) s of CPU in \(seconds) s")
        }

        @Test func aRegularFileIsNeverWaitedOn() throws {
            try Self.measure(notifications: nil) { _, wakeUps, cpu, seconds in Self.expectIdle(wakeUps, cpu, seconds) }
        }

        /// /dev/null's driver has no poll handler: poll() answers with the
        /// kernel's default mask at once, forever, as the vmclock driver of
        /// Linux 6.13–6.x does.
        @Test func aDeviceWithoutAPollHandlerIsRecognisedOnceAndLeftAlone() throws {
            try Self.measure(notifications: "/dev/null") { daemon, wakeUps, cpu, seconds in
                Self.expectIdle(wakeUps, cpu, seconds)
                #expect(daemon.lines(containing: "does not deliver notifications").count == 1, "\(daemon.log)")
            }
        }

        /// /dev/kmsg reports POLLIN while records are unread, and a 1-byte
        /// read() fails (EINVAL): a re-arming read that fails leaves POLLIN
        /// raised, as the vmclock driver's ETIMEDOUT does.
        @Test(.enabled(if: access("/dev/kmsg", R_OK) == 0, "needs /dev/kmsg (root)"))
        func aFailingReArmingReadPausesTheWaitUntilTheNextLook() throws {
            try Self.measure(notifications: "/dev/kmsg") { daemon, wakeUps, cpu, seconds in
                Self.expectIdle(wakeUps, cpu, seconds)
                #expect(daemon.lines(containing: "does not deliver notifications").isEmpty, "POLLIN alone is a notification")
            }
        }

        @Test func aHostStuckMidUpdateIsReportedOnceAndCostsWhatIdleDoes() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"))
            defer { sim.stop() }
            let recorder = try RefclockRecorder(path: dir.path("refclock.sock"))
            let daemon = try DaemonProcess(
                device: sim.pagePath, refclockSocket: recorder.path, controlSocket: dir.path("chronyd.sock"),
                logPath: dir.path("daemon.log"))
            defer { _ = daemon.stop() }
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(daemon.log)")
            try sim.send("stall")
            try #require(daemon.waitForLog(containing: "→ holding/busy", within: 10) != nil, "\(daemon.log)")
            while !recorder.receive(waitingUpTo: 0).isEmpty {}  // what left before the stall
            let pid = try #require(daemon.pid)
            let before = try Activity(pid)
            var samples = 0
            while monotonicNanoseconds() - before.taken < 3_000_000_000 { samples += recorder.receive(waitingUpTo: 100).count }
            let after = try Activity(pid)
            let seconds = Double(after.taken - before.taken) * 1e-9
            let wakeUps = after.wakeUps - before.wakeUps
            let cpu = Double(after.cpuNanoseconds - before.cpuNanoseconds) * 1e-9
            Self.expectIdle(wakeUps, cpu, seconds)
            // A look that waited for the host (the old 1 ms busy-wait) would cost over 1 ms each.
            #expect(cpu / Double(max(wakeUps, 1)) < 0.000_5, "\(cpu) s over \(wakeUps) wake-ups")
            #expect(samples == 0, "no sample while the page is busy")
            try sim.send("unstall")
            try #require(daemon.waitForLog(containing: "→ tracking", occurrence: 2, within: 10) != nil, "\(daemon.log)")
            #expect(daemon.lines(containing: "→ holding/busy").count == 1, "the hold is reported once")
        }
    }
}
