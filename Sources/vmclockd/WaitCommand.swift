#if canImport(Glibc)
import Glibc
#endif
import VMClockAccess
import DaemonCore
import DaemonPublication

struct WaitCommand: Command {
    static let name = "wait"
    static let readsConfigFile = true
    static let abstract = "Wait until the daemon is tracking and chronyd follows VMCK (for boot scripts and database start-up)."
    static let discussion = """
        Reads the state the running daemon publishes (--status-file) every \(pollSeconds) s. The clock is good \
        once the daemon is tracking (samples flow to chronyd) and chronyd, asked since tracking began, has \
        selected VMCK as its reference. On a page with no clock data (QEMU's, Firecracker's) vmclockd \
        gives chronyd no time, so it cannot say the clock is good: once chronyd has acknowledged the \
        reset owed for the last disruption, wait exits 2 (chronyd's other sources decide: chronyc \
        waitsync). exit status: 0 the clock is good; 1 --timeout passed first (the reason is printed); \
        2 the page has no clock data; 64 bad arguments.
        """
    static let pollSeconds = 0.2

    var statusFile = DaemonConfiguration().statusFilePath ?? "/run/vmclockd/status.json"
    var timeout: Double?

    static var options: [Option<WaitCommand>] { [
        configOption,
        Option("timeout", value: "seconds", help: "Give up after this many seconds (default: wait for as long as it takes).") {
            (command: inout WaitCommand, value: String) throws(UsageError) in
            command.timeout = try OptionValue.double(value, in: NumberRange(lower: 0, includesLower: true, upper: 31_536_000, unit: "seconds"))
        },
        Option("status-file", value: "path", help: "Where the running daemon publishes its state.",
               default: DaemonConfiguration().statusFilePath) { $0.statusFile = $1 },
    ] }

    func run() -> Int32 {
        let start = SystemClock.monotonicNanoseconds()
        let limit = timeout.map { start + Int64($0 * 1e9) }
        while true {
            let status = DaemonStatus(path: statusFile)
            if let snapshot = status.snapshot, status.running {
                if snapshot.clockIsGood {
                    print("the clock is good: \(Self.describe(snapshot))")
                    return 0
                }
                if snapshot.cannotVouch {
                    print("the page has no clock data: vmclockd gives chronyd no time, so it cannot vouch for the clock"
                          + " (chronyd owes no reset; its other sources decide: chronyc waitsync)")
                    return 2
                }
            }
            if let limit, SystemClock.monotonicNanoseconds() >= limit {
                print("timed out after \(timeout ?? 0) s: \(Self.whyNot(status))")
                return 1
            }
            var pause = timespec(tv_sec: 0, tv_nsec: Int(Self.pollSeconds * 1e9))
            nanosleep(&pause, nil)
        }
    }

    static func describe(_ s: DaemonSnapshot) -> String {
        let offset = s.chronyd?.vmck?.latest.map { ", VMCK offset \($0.offsetNanoseconds) ns" } ?? ""
        return "vmclockd tracking, chronyd has selected VMCK\(offset)"
    }

    /// What keeps the clock from being good, first thing first.
    static func whyNot(_ status: DaemonStatus) -> String {
        guard let s = status.snapshot, status.running else { return "vmclockd: \(status.problem ?? "not running")" }
        if s.resetPending {
            return "chronyd has not acknowledged the reset for disruption \(s.reset?.disruption ?? 0)" + (s.resetBlocker.map { ": \($0)" } ?? "")
        }
        guard s.state == "tracking" else {
            return "vmclockd is \(s.state)" + (s.reasonText.map { ": \($0)" } ?? "")
        }
        if let why = s.chronyd?.unreachable { return "chronyd unreachable: \(why)" }
        guard let chronyd = s.chronyd, chronyd.askedAt.monotonicNanoseconds >= s.since.monotonicNanoseconds else {
            return "vmclockd is tracking; chronyd not asked about VMCK since"
        }
        guard let vmck = chronyd.vmck else { return "chronyd has no VMCK source" }
        return "chronyd has not selected VMCK (its state: \(vmck.state))"
    }
}
