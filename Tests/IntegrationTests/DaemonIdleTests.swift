import Foundation
import Testing

extension LiveDevice {
    /// The daemon must never spin: a page that claims update notifications
    /// on something that is not a character device (a regular file is always
    /// "readable" to poll()) must not turn the watch loop into a busy loop.
    @Suite struct DaemonIdle {
        /// CPU seconds (user + system) the process has used, from /proc/PID/stat.
        static func cpuSeconds(_ pid: pid_t) throws -> Double {
            let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
            // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
            let after = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            return (Double(after[11])! + Double(after[12])!) / ticks
        }

        @Test func notificationFlagOnAFileDoesNotMakeTheLoopSpin() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"), settings: ["flags=+notification_present"])
            defer { sim.stop() }
            let daemon = try DaemonProcess(
                device: sim.pagePath, refclockSocket: dir.path("refclock.sock"), controlSocket: dir.path("chronyd.sock"),
                options: ["--settle-time", "0"], logPath: dir.path("daemon.log"))
            defer { _ = daemon.stop() }
            #expect(daemon.waitForLog(containing: "→ tracking", within: 10) != nil)
            let pid = try #require(daemon.pid)
            let before = try Self.cpuSeconds(pid)
            let started = Date()
            // Let it run two seconds: looking every 10 ms costs ~1 µs a look,
            // a spinning loop would burn the whole two seconds.
            while Date().timeIntervalSince(started) < 2 { usleep(100_000) }
            let used = try Self.cpuSeconds(pid) - before
            #expect(used < 0.2, "the daemon used \(used) s of CPU in 2 s")
        }
    }
}
