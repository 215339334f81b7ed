#if canImport(Glibc)
import Glibc
#endif
import ChronyClients
import VMClockAccess

extension DaemonRunner {
    /// What the daemon publishes of itself now.
    func snapshot(now: Int64) -> DaemonSnapshot {
        let state = core.state
        var snapshot = DaemonSnapshot(
            pid: process?.pid ?? getpid(), processStartTicks: process?.startTicks ?? 0,
            published: Self.moment(monotonic: now), started: recorder.started, device: configuration.devicePath,
            state: state.name, reason: state.holdReason?.kind, reasonText: state.holdReason?.description,
            since: recorder.since, promiseNanoseconds: configuration.promiseNanoseconds,
            disruptionMarker: core.identity?.disruptionMarker, notificationsInUse: reader.notifications.isInUse,
            maintenance: core.maintenanceFlags.names)
        snapshot.lastSample = recorder.lastSample
        snapshot.samples = .init(sent: statistics.samplesSent, withheld: recorder.withheldByReason,
                                 unsent: statistics.samplesUnsent, dropped: statistics.samplesDroppedFull)
        snapshot.disruptions = recorder.disruptions
        snapshot.lastDisruption = recorder.lastDisruption
        snapshot.lastRestore = recorder.lastRestore
        snapshot.reset = recorder.reset
        snapshot.resetFailures = recorder.resetFailures
        snapshot.hostSteps = recorder.hostSteps
        snapshot.chronyd = recorder.chronyd
        snapshot.looks = statistics.looks
        return snapshot
    }

    func publish(now: Int64) {
        publisher.publish(snapshot(now: now), now: now)
        recorder.published()
    }

    /// The loop ends: the published files go, so none claims a running daemon.
    func stopping(_ stop: Stop) -> Stop {
        publisher.withdraw()
        return stop
    }

    /// Now, or the monotonic instant `monotonic` (taken a moment ago), both ways.
    static func moment(monotonic: Int64? = nil) -> DaemonSnapshot.Moment {
        let realtime = SystemClock.realtime().nanosecondsSinceEpoch ?? 0
        let now = SystemClock.monotonicNanoseconds()
        let at = monotonic ?? now
        return .init(unixNanoseconds: realtime - (now - at), monotonicNanoseconds: at)
    }

    /// chronyd's answer as published: offsets turned to the daemon's sign
    /// (vmclock − system, as its samples are), so the two can be compared.
    static func published(_ view: ChronydView) -> DaemonSnapshot.Chronyd {
        var published = DaemonSnapshot.Chronyd(askedAt: moment(monotonic: view.askedAtMonotonic), unreachable: nil, vmck: nil)
        switch view.outcome {
        case .source(let source):
            published.vmck = .init(state: source.state.name, latest: source.sinceSampleSeconds.map {
                .init(offsetNanoseconds: nanoseconds(-source.latestOffsetSeconds, .toNearestOrAwayFromZero),
                      measuredOffsetNanoseconds: nanoseconds(-source.originalLatestOffsetSeconds, .toNearestOrAwayFromZero),
                      errorNanoseconds: UInt64(clamping: nanoseconds(source.latestErrorSeconds, .up)), ageSeconds: $0)
            })
        case .noSource: break
        case .unreachable(let why): published.unreachable = why
        }
        return published
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
