import ClockBoundProtocol

/// What the segment tells applications now, and why: one verdict, made at
/// a monotonic instant, that the loop writes into ClockBound's segment.
public struct ClockBoundVerdict: Sendable, Equatable {
    public enum Reason: String, Sendable, CaseIterable {
        /// No look at the page yet.
        case starting
        /// A disruption (or a host step) was seen; chronyd has not acknowledged the reset.
        case resetOwed = "disrupted-reset-owed"
        /// chronyd dropped the old host's history, and has not synchronised since.
        case resyncOwed = "disrupted-resync-owed"
        /// No identity from an earlier run while chronyd was synchronised: reset, not yet resynchronised.
        case unverifiedStart = "unverified-start"
        /// No vmclock device: a migration could not be seen.
        case noDevice = "no-device"
        /// Page with clock data, vmclockd tracking: measured against the page.
        case measured
        /// chronyd synchronised to a reference updated after the last reset.
        case chronyd
        /// chronyd synchronised, but its reference has not been updated for long.
        case chronydStale = "chronyd-stale"
        case chronydUnsynchronised = "chronyd-unsynchronised"
        /// No tracking report from chronyd within the last few seconds.
        case chronydUnreachable = "chronyd-unreachable"

        /// The operator's sentence for status lines.
        public var explanation: String {
            switch self {
            case .starting: "no look at the page yet"
            case .resetOwed: "a disruption was seen: chronyd has not yet acknowledged 'reset sources'"
            case .resyncOwed: "chronyd dropped the old host's history and has not synchronised since (nor is vmclockd tracking)"
            case .unverifiedStart: "no page identity from an earlier run: chronyd was reset and has not synchronised since"
            case .noDevice: "no vmclock device: a migration could not be seen, so no bound is vouched for"
            case .measured: "|system clock − page| + the page's bound + the read + chronyd's remaining correction, at the last look"
            case .chronyd: "chronyd's root delay / 2 + root dispersion + remaining correction (ClockBound's formula), synchronised since the last reset"
            case .chronydStale: "chronyd is synchronised but has not updated its reference for 8 update intervals"
            case .chronydUnsynchronised: "chronyd is not synchronised"
            case .chronydUnreachable: "no tracking report from chronyd for \(ClockBoundJudge.trackingFreshNanoseconds / 1_000_000_000) s"
            }
        }
    }

    public var status: SegmentStatus
    public var reason: Reason
    /// The bound at `at`, ns; 0 where the status gives none (Unknown, Disrupted).
    public var boundNanoseconds: Int64
    /// The instant the bound holds at (CLOCK_MONOTONIC ns).
    public var at: Int64
    /// How fast the bound grows after `at`, ppb.
    public var maxDriftPPB: UInt32
    public var disruptionMarker: UInt64
    /// A device is present: clients compare the marker themselves.
    public var disruptionSupport: Bool

    public init(
        status: SegmentStatus, reason: Reason, boundNanoseconds: Int64, at: Int64, maxDriftPPB: UInt32,
        disruptionMarker: UInt64, disruptionSupport: Bool
    ) {
        self.status = status
        self.reason = reason
        self.boundNanoseconds = boundNanoseconds
        self.at = at
        self.maxDriftPPB = maxDriftPPB
        self.disruptionMarker = disruptionMarker
        self.disruptionSupport = disruptionSupport
    }

    /// A bound only Synchronized and FreeRunning carry (clients use it for both).
    public var claimsBound: Bool { status == .synchronized || status == .freeRunning }

    /// The bound at `now` (monotonic), as the segment must state it for a
    /// client whose CLOCK_MONOTONIC_COARSE may lag the writer's by up to
    /// `coarseResolution`: grown at `maxDriftPPB` over that much longer,
    /// rounded up, plus 1 ns for the clients' truncation.
    public func bound(atMonotonic now: Int64, coarseResolution: Int64) -> Int64 {
        guard claimsBound else { return 0 }
        let elapsed = Int128(max(0, now &- at)) + Int128(max(0, coarseResolution))
        let grown = (elapsed * Int128(maxDriftPPB) + 999_999_999) / 1_000_000_000
        return Int64(clamping: Int128(boundNanoseconds) + grown + 1)
    }

    /// The segment's body at `now` (monotonic), stamped `asOf` (CLOCK_MONOTONIC_COARSE,
    /// read at or before `now`). `void_after` is 5 s on: a Synchronized
    /// left by a daemon that died turns Unknown, never FreeRunning, in the clients.
    public func body(asOf: Int64, now: Int64, coarseResolution: Int64) -> SegmentBody {
        SegmentBody(
            asOf: CoarseInstant(nanoseconds: asOf), voidAfter: CoarseInstant(nanoseconds: asOf &+ Self.voidAfterNanoseconds),
            boundNanoseconds: bound(atMonotonic: now, coarseResolution: coarseResolution),
            disruptionMarker: disruptionMarker, maxDriftPPB: claimsBound ? maxDriftPPB : 0, status: status,
            disruptionSupport: disruptionSupport)
    }

    public static let voidAfterNanoseconds: Int64 = 5_000_000_000

    /// Unknown, for the start and the way out.
    public static func unknown(_ reason: Reason = .starting, marker: UInt64 = 0, support: Bool = false, at: Int64 = 0) -> Self {
        .init(status: .unknown, reason: reason, boundNanoseconds: 0, at: at, maxDriftPPB: 0, disruptionMarker: marker,
              disruptionSupport: support)
    }
}
