#if canImport(Glibc)
import Glibc
#endif
import ChronyProtocol
import DaemonCore
import VMClockAccess
import VMClockSystem

extension DaemonSnapshot {
    /// What the daemon publishes of itself at `now`, from what the loop hands
    /// over: the state machine and the ledger.
    package static func taken(
        now: Int64, core: DaemonCore, configuration: DaemonConfiguration, ledger: DaemonLedger.Record,
        notificationsInUse: Bool, process: ProcessIdentity?, applications: Applications? = nil
    ) -> DaemonSnapshot {
        let state = core.state
        var snapshot = DaemonSnapshot(
            pid: process?.pid ?? getpid(), processStartTicks: process?.startTicks ?? 0,
            published: Moment.at(monotonic: now), started: ledger.started, device: configuration.devicePath,
            state: state.name, reason: state.holdReason?.kind, reasonText: state.holdReason?.description,
            since: ledger.since, promiseNanoseconds: configuration.promiseNanoseconds,
            disruptionMarker: core.identity?.disruptionMarker, notificationsInUse: notificationsInUse,
            maintenance: core.maintenanceFlags.names)
        snapshot.lastSample = ledger.lastSample
        snapshot.samples = ledger.samples
        snapshot.disruptions = ledger.disruptions
        snapshot.lastDisruption = ledger.lastDisruption
        snapshot.lastRestore = ledger.lastRestore
        snapshot.reset = ledger.reset
        snapshot.resetFailures = ledger.resetFailures
        snapshot.hostSteps = ledger.hostSteps
        snapshot.chronyd = ledger.chronyd
        snapshot.looks = ledger.looks
        snapshot.applications = applications
        return snapshot
    }
}

extension DaemonSnapshot.Moment {
    /// Now, or the monotonic instant `monotonic` (taken a moment ago), both ways.
    package static func at(monotonic: Int64? = nil) -> Self {
        let realtime = SystemClock.realtime().nanosecondsSinceEpoch ?? 0
        let now = SystemClock.monotonicNanoseconds()
        let at = monotonic ?? now
        return .init(unixNanoseconds: realtime - (now - at), monotonicNanoseconds: at)
    }
}

extension DaemonSnapshot.Chronyd {
    /// chronyd's answer as published: offsets turned to the daemon's sign
    /// (vmclock − system, as its samples are), so the two can be compared.
    package init(_ view: ChronydView) {
        self.init(askedAt: .at(monotonic: view.askedAtMonotonic), unreachable: nil, vmck: nil)
        switch view.outcome {
        case .source(let source):
            vmck = .init(state: source.state.name, latest: source.sinceSampleSeconds.map {
                .init(offsetNanoseconds: nanoseconds(-source.latestOffsetSeconds, .toNearestOrAwayFromZero),
                      measuredOffsetNanoseconds: nanoseconds(-source.originalLatestOffsetSeconds, .toNearestOrAwayFromZero),
                      errorNanoseconds: UInt64(clamping: nanoseconds(source.latestErrorSeconds, .up)), ageSeconds: $0)
            })
        case .noSource: break
        case .unreachable(let why): unreachable = why
        }
    }
}

/// Seconds from chronyd's wire format (any value a reply can carry) in ns,
/// clamped: a NaN or a value past Int64 must not trap the daemon.
func nanoseconds(_ seconds: Double, _ rule: FloatingPointRoundingRule) -> Int64 {
    guard seconds.isFinite else { return 0 }
    let value = (seconds * 1e9).rounded(rule)
    if value >= 9.2e18 { return .max }
    if value <= -9.2e18 { return .min }
    return Int64(value)
}

extension SourceReport.State {
    /// The state's name in the published state.
    var name: String {
        switch self {
        case .selected: "selected"
        case .nonselectable: "nonselectable"
        case .falseticker: "falseticker"
        case .jittery: "jittery"
        case .unselected: "unselected"
        case .selectable: "selectable"
        case .other(let raw): "state-\(raw)"
        }
    }
}
