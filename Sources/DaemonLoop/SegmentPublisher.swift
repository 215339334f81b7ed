import ChronyProtocol
import ClockBoundProtocol
import DaemonCore
import DaemonPublication
import VMClockAccess

/// What applications are told, carried out: the judge's verdict written
/// into ClockBound's segment when the refresh rule says so. Unknown is
/// written before the first look and on the way out, so no Synchronized
/// from an earlier run or a stopped daemon is left behind.
final class SegmentPublisher {
    private var judge = ClockBoundJudge()
    private var refresh = SegmentRefresh()
    private let file: ClockBoundSegmentFile
    /// The verdict made at the last pass, written or not.
    private(set) var verdict = ClockBoundVerdict.unknown()
    /// A write failed: the next attempt waits until then (the file itself
    /// reopens at most every 5 s), so a failing file never spins the loop.
    private var retryAt: Int64?
    /// CLOCK_MONOTONIC_COARSE's tick: how far a client's coarse clock may
    /// lag ours (the bound is grown over that much more).
    private let coarseResolution = SystemClock.monotonicCoarseResolutionNanoseconds

    init?(configuration: DaemonConfiguration, log: DaemonLog) {
        guard let path = configuration.clockBoundSegmentPath else { return nil }
        file = ClockBoundSegmentFile(path: path) { key, problem, now in
            if let problem { log.rateLimited("segment-\(key)", now: now, .warning, problem) } else { log.cleared("segment-\(key)") }
        }
        write(verdict)
    }

    func noticed(_ event: DaemonEvent) { judge.noticed(event) }
    func resetAcknowledged(at now: Int64) { judge.resetAcknowledged(at: now) }

    /// chronyd's tracking report, asked at `askedAt`, read at `now`;
    /// `referenceAge` by the system clock read with it.
    func chronyd(_ report: TrackingReport, askedAt: Int64, now: Int64, referenceAgeNanoseconds: Int64?) {
        judge.chronyd(ChronydTracking(report, askedAt: askedAt, answeredAt: now, referenceAgeNanoseconds: referenceAgeNanoseconds))
    }

    /// Judges `core` as the look at `lookedAt` left it, and writes if due.
    func pass(core: DaemonCore, lookedAt: Int64, now: Int64) {
        verdict = judge.verdict(core: core, lookedAt: lookedAt, now: now)
        if let retryAt, now < retryAt { return }
        if refresh.isDue(verdict, now: now, coarseResolution: coarseResolution) { write(verdict) }
    }

    /// The latest the next write falls due (the loop wakes for it).
    var deadline: Int64? { retryAt ?? refresh.deadline }

    /// What the segment says, for status and metrics.
    var written: (verdict: ClockBoundVerdict, boundNanoseconds: Int64, at: Int64)? { refresh.lastWritten }
    var condition: ClockBoundSegmentFile.Condition { file.condition }
    var path: String { file.path }

    /// What status.json and the metrics show of it.
    var published: DaemonSnapshot.Applications {
        let problem: String? = switch file.condition {
        case .writing: nil
        case .notOpenYet: "not opened yet"
        case .failing(let why), .otherWriter(let why): why
        }
        // The verdict now (a change of status is written at once, so the
        // file says the same unless it cannot be written); the bound as written.
        let told = refresh.lastWritten
        let shown = verdict
        return .init(
            segment: file.path, problem: problem, status: shown.status.description, reason: shown.reason.rawValue,
            reasonText: shown.reason.explanation, boundNanoseconds: shown.claimsBound ? told?.boundNanoseconds : nil,
            maxDriftPPB: shown.claimsBound ? shown.maxDriftPPB : 0, writtenAt: told.map { .at(monotonic: $0.at) })
    }

    /// On the way out: Unknown, and the file stays (clients map it once).
    func withdraw() {
        let asOf = SystemClock.monotonicCoarseNanoseconds()
        file.withdraw(ClockBoundVerdict.unknown(marker: verdict.disruptionMarker).body(
            asOf: asOf, now: SystemClock.monotonicNanoseconds(), coarseResolution: coarseResolution))
    }

    /// The coarse clock first, then the fine one the bound is grown to: as_of
    /// is then at or before that instant, and a client, whose coarse clock
    /// lags the fine one by at most a resolution, grows the bound over at
    /// least the time that really passed since.
    private func write(_ verdict: ClockBoundVerdict) {
        let asOf = SystemClock.monotonicCoarseNanoseconds()
        let stamp = SystemClock.monotonicNanoseconds()
        let body = verdict.body(asOf: asOf, now: stamp, coarseResolution: coarseResolution)
        if file.write(body, now: stamp) {
            refresh.written(verdict, boundNanoseconds: body.boundNanoseconds, now: stamp)
            retryAt = nil
        } else {
            retryAt = stamp &+ SegmentRefresh.everyNanoseconds
        }
    }
}
