#if canImport(Glibc)
import Glibc
#endif
import ClockBoundProtocol
import VMClockAccess
import DaemonCore
import DaemonPublication

struct WaitCommand: Command {
    static let name = "wait"
    static let readsConfigFile = true
    static let abstract = "Wait until the clock is good: the daemon tracking and chronyd following VMCK, or the ClockBound segment synchronized (for boot scripts and database start-up)."
    static let discussion = """
        Every \(pollSeconds) s reads the state the running daemon publishes (--status-file) and the ClockBound \
        segment (--segment, the config file's clockbound-segment key), the latter as `vmclockd now` does, \
        disruption marker check included. The clock is good once the daemon is tracking (samples flow to \
        chronyd) and chronyd, asked since tracking began, has selected VMCK as its reference; or once the \
        segment says synchronized, with --max-bound its bound at that instant within it (--max-bound \
        waits for the segment alone). On a page with no clock data (QEMU's, Firecracker's) vmclockd gives \
        chronyd no time; the segment, carrying chronyd's own bound, still says when the clock is good. With \
        the segment off (none), wait exits 2 there once chronyd has acknowledged the reset owed for the last \
        disruption (chronyd's other sources decide: chronyc waitsync). exit status: 0 the clock is good; \
        1 --timeout passed first (the reason is printed); 2 the page has no clock data and the segment is \
        off; 64 bad arguments.
        """
    static let pollSeconds = 0.2

    var statusFile = DaemonConfiguration().statusFilePath ?? "/run/vmclockd/status.json"
    var segment: String? = SegmentLayout.defaultPath
    /// The segment was named (option or config file): else the running
    /// daemon's own, as it publishes it, is read.
    var segmentNamed = false
    var device = VMClockDevice.defaultPath
    var timeout: Double?
    /// Nanoseconds.
    var maxBound: Int128?

    static var options: [Option<WaitCommand>] { [
        configOption,
        Option("timeout", value: "seconds", help: "Give up after this many seconds (default: wait for as long as it takes).") {
            (command: inout WaitCommand, value: String) throws(UsageError) in
            command.timeout = try OptionValue.double(value, in: NumberRange(lower: 0, includesLower: true, upper: 31_536_000, unit: "seconds"))
        },
        Option("status-file", value: "path", help: "Where the running daemon publishes its state.",
               default: DaemonConfiguration().statusFilePath) { $0.statusFile = $1 },
        Option("segment", value: "path", help: "The ClockBound segment the daemon writes ('none': the daemon's state only).",
               default: SegmentLayout.defaultPath) { ($0.segment, $0.segmentNamed) = ($1 == "none" ? nil : $1, true) },
        .configSegment { ($0.segment, $0.segmentNamed) = ($1 == "none" ? nil : $1, true) },
        Option("device", value: "path", help: "The vmclock device whose marker the segment's is compared with.",
               default: VMClockDevice.defaultPath) { $0.device = $1 },
        Option("max-bound", value: "seconds", help: "Also wait until the segment's bound is at most this.") {
            (command: inout WaitCommand, value: String) throws(UsageError) in
            let seconds = try OptionValue.double(value, in: NumberRange(lower: 0, includesLower: false, upper: 3600, unit: "seconds"))
            command.maxBound = Int128((seconds * 1e9).rounded(.down))
        },
    ] }

    func validate() throws(UsageError) {
        if maxBound != nil, segment == nil { throw UsageError("--max-bound needs the segment; it is none") }
    }

    func run() -> Int32 {
        let start = SystemClock.monotonicNanoseconds()
        let limit = timeout.map { start + Int64($0 * 1e9) }
        while true {
            let status = DaemonStatus(path: statusFile)
            let client = segment(of: status).map { SegmentClient(segmentPath: $0, devicePath: device) }
            let read = client?.read()
            if let read, let good = Self.segmentIsGood(read, maxBound: maxBound) {
                print("the clock is good: \(good)")
                return 0
            }
            if let snapshot = status.snapshot, status.running, maxBound == nil {
                if snapshot.clockIsGood {
                    print("the clock is good: \(Self.describe(snapshot))")
                    return 0
                }
                if snapshot.cannotVouch, client == nil {
                    print("the page has no clock data: vmclockd gives chronyd no time, so it cannot vouch for the clock"
                          + " (chronyd owes no reset; its other sources decide: chronyc waitsync)")
                    return 2
                }
            }
            if let limit, SystemClock.monotonicNanoseconds() >= limit {
                print("timed out after \(timeout ?? 0) s: \(Self.whyNot(status))" + (read.map { "; segment: \(Self.whyNot($0, maxBound: maxBound))" } ?? ""))
                return 1
            }
            var pause = timespec(tv_sec: 0, tv_nsec: Int(Self.pollSeconds * 1e9))
            nanosleep(&pause, nil)
        }
    }

    /// The segment to read: the one named, else the one the running daemon
    /// says it writes (none if it writes none), else the default.
    func segment(of status: DaemonStatus) -> String? {
        guard !segmentNamed, status.running, let snapshot = status.snapshot else { return segment }
        return snapshot.applications?.segment
    }

    /// What the segment says when that is enough, nil otherwise.
    static func segmentIsGood(_ outcome: SegmentClient.Outcome, maxBound: Int128?) -> String? {
        guard case .reading(let reading, _, _) = outcome, reading.status == .synchronized,
            reading.boundNanoseconds <= maxBound ?? reading.boundNanoseconds
        else { return nil }
        return "the ClockBound segment says synchronized, bound ±\(reading.boundNanoseconds) ns"
    }

    static func whyNot(_ outcome: SegmentClient.Outcome, maxBound: Int128?) -> String {
        if case .reading(let reading, _, _) = outcome, reading.status == .synchronized, let maxBound {
            return "bound ±\(reading.boundNanoseconds) ns is above --max-bound (\(maxBound) ns)"
        }
        return NowReport(outcome, segment: "", device: "").statusText
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
