/// What a ClockBound client makes of the segment at an instant
/// (PROTOCOL.md and the official 2.0 client): the status after ageing,
/// and `[realtime − bound, realtime + bound]`. `vmclockd now` and the
/// tests' checks use it; the daemon never does.
public enum ClientMath {
    /// Synchronized or FreeRunning data older than this is FreeRunning.
    public static let staleAfterNanoseconds: Int128 = 5_000_000_000
    /// A reader's coarse clock may be this far behind `asOf`.
    public static let causalitySlackNanoseconds: Int128 = 1_000

    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// `asOf` is later than the reader's clock by more than the slack.
        case causalityBreach
        /// A status no version-2 segment may hold, or a drift of 100 % or more.
        case malformed

        public var description: String {
            switch self {
            case .causalityBreach: "the segment's as_of is later than this reader's CLOCK_MONOTONIC_COARSE"
            case .malformed: "the segment holds a status or drift no ClockBound writer writes"
            }
        }
    }

    public struct Reading: Sendable, Equatable {
        public var status: SegmentStatus
        /// The bound at the reader's instant, ns (rounded up).
        public var boundNanoseconds: Int128
        public var earliestNanoseconds: Int128
        public var latestNanoseconds: Int128
    }

    /// `realtime` (ns since the epoch) and `coarse` (CLOCK_MONOTONIC_COARSE
    /// ns) taken by the reader; `deviceMarker`: the vmclock page's marker,
    /// where the segment asks for the comparison and the reader could read it.
    public static func read(
        _ body: SegmentBody, realtime: Int128, coarse: Int128, deviceMarker: UInt64?
    ) -> Result<Reading, Failure> {
        guard var status = body.status, body.maxDriftPPB < 1_000_000_000 else { return .failure(.malformed) }
        let asOf = body.asOf.totalNanoseconds
        guard coarse >= asOf - causalitySlackNanoseconds else { return .failure(.causalityBreach) }
        let elapsed = max(0, coarse - asOf)
        if status == .synchronized || status == .freeRunning {
            if elapsed >= staleAfterNanoseconds {
                status = coarse < body.voidAfter.totalNanoseconds ? .freeRunning : .unknown
            }
        }
        // The official client compares markers and answers Unknown on a
        // mismatch: a migration is seen before any daemon rewrites.
        if body.disruptionSupport, let deviceMarker, deviceMarker != body.disruptionMarker { status = .unknown }
        // Rounded up, where the official client truncates: never narrower.
        let grown = (elapsed * Int128(body.maxDriftPPB) + 999_999_999) / 1_000_000_000
        let bound = Int128(body.boundNanoseconds) + grown
        return .success(Reading(
            status: status, boundNanoseconds: bound, earliestNanoseconds: realtime - bound, latestNanoseconds: realtime + bound))
    }
}
