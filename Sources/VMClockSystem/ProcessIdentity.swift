#if canImport(Glibc)
import Glibc
#endif

/// A process told apart from a later one given the same pid: its pid and
/// its start time in clock ticks since boot (field 22 of /proc/PID/stat).
public struct ProcessIdentity: Equatable, Sendable {
    public var pid: Int32
    public var startTicks: UInt64

    public init(pid: Int32, startTicks: UInt64) {
        (self.pid, self.startTicks) = (pid, startTicks)
    }

    /// This process.
    public static func current() -> ProcessIdentity? { of(pid: getpid()) }

    /// The process running as `pid` now, if any. Read from its main thread's
    /// stat, whose start time is the process's: qemu-user (the arm64 tests,
    /// packaging/arm64) answers a program's reads of its own /proc/PID/stat
    /// with a start time of its making, a tick or two off the kernel's.
    public static func of(pid: Int32) -> ProcessIdentity? {
        guard let stat = try? AtomicFile.read("/proc/\(pid)/task/\(pid)/stat", limit: 1024),
              let ticks = startTicks(stat: stat) else { return nil }
        return ProcessIdentity(pid: pid, startTicks: ticks)
    }

    /// The process is still the one that was running then.
    public var isRunning: Bool { Self.of(pid: pid) == self }

    /// Field 22 of a stat line; the command name (field 2) is in parentheses
    /// and may itself hold spaces and ')', so fields are counted after the last ')'.
    package static func startTicks(stat: String) -> UInt64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ')' come fields 3, 4, …: field 22 is the 20th.
        guard fields.count >= 20 else { return nil }
        return UInt64(fields[19])
    }
}
