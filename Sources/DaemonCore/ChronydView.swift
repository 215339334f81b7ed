import ChronyProtocol

/// What chronyd says of VMCK, as last asked (once a second, `REQ_SOURCE_DATA`):
/// for the operator, never acted on. Its offsets are chronyd's, with
/// chronyd's sign (a reference ahead of the system clock is negative).
public struct ChronydView: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// chronyd's report of the refclock whose refid is VMCK.
        case source(SourceReport)
        /// chronyd answered, and has no such refclock (not configured).
        case noSource
        /// chronyd could not be asked, or did not answer: why.
        case unreachable(String)
    }

    /// When the request that answered was sent (CLOCK_MONOTONIC ns).
    public var askedAtMonotonic: Int64
    public var outcome: Outcome

    public init(askedAtMonotonic: Int64, outcome: Outcome) {
        self.askedAtMonotonic = askedAtMonotonic
        self.outcome = outcome
    }

    /// VMCK's report, if chronyd gave one.
    public var source: SourceReport? {
        if case .source(let report) = outcome { report } else { nil }
    }

    /// chronyd steers by VMCK (`*` in `chronyc sources`).
    public var isSelected: Bool { source?.state == .selected }
}
