/// When the segment must be written again: at once when what it says
/// changes (status, marker, device support) or when the bound it states,
/// grown as clients grow it, would fall below the new one; otherwise once
/// a second, so clients (which call Synchronized data older than 5 s
/// FreeRunning) see it fresh. A smaller bound waits for that second:
/// the larger one stated meanwhile is still true. Few writes also keep
/// the 16-bit generation from wrapping often (a client that cached the
/// generation 32 767 writes ago would take stale data for new).
public struct SegmentRefresh: Sendable {
    public static let everyNanoseconds: Int64 = 1_000_000_000

    private struct Written: Sendable {
        var verdict: ClockBoundVerdict
        var boundNanoseconds: Int64
        var at: Int64
    }

    private var last: Written?

    public init() {}

    public func isDue(_ verdict: ClockBoundVerdict, now: Int64, coarseResolution: Int64) -> Bool {
        guard let last else { return true }
        let old = last.verdict
        if verdict.status != old.status || verdict.disruptionMarker != old.disruptionMarker
            || verdict.disruptionSupport != old.disruptionSupport
        {
            return true
        }
        if now &- last.at >= Self.everyNanoseconds { return true }
        guard verdict.claimsBound else { return false }
        // What a client takes from the written bound now, at the least (its
        // coarse clock may have ticked up to a resolution less than ours).
        let elapsed = Int128(max(0, now &- last.at &- coarseResolution))
        let stated = Int128(last.boundNanoseconds) + elapsed * Int128(old.maxDriftPPB) / 1_000_000_000
        return Int128(verdict.bound(atMonotonic: now, coarseResolution: coarseResolution)) > stated
    }

    /// `verdict` was written at `now`, stating `boundNanoseconds`.
    public mutating func written(_ verdict: ClockBoundVerdict, boundNanoseconds: Int64, now: Int64) {
        last = Written(verdict: verdict, boundNanoseconds: boundNanoseconds, at: now)
    }

    /// When the next write falls due at the latest (for the loop's wait).
    public var deadline: Int64? { last.map { $0.at &+ Self.everyNanoseconds } }

    /// What was last written (for status and metrics).
    public var lastWritten: (verdict: ClockBoundVerdict, boundNanoseconds: Int64, at: Int64)? {
        last.map { ($0.verdict, $0.boundNanoseconds, $0.at) }
    }
}
