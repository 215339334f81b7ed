import ChronyProtocol

/// chronyd's answer to one request, as the director reads it from the
/// request's outcome: the one type from the request to what the daemon
/// learns. The link logs it; the runner hands on what the state machine and
/// the ledger must know.
public enum ChronydAnswer: Equatable, Sendable {
    /// chronyd dropped its history after disruptions `first...last`.
    case resetAcknowledged(first: Int, last: Int, attempts: Int)
    /// An attempt at the reset chronyd did not acknowledge (it is retried).
    case resetFailed(disruption: Int, attempts: Int, failure: ControlFailure)
    case selectionApplied(selectable: Bool)
    /// chronyd answered selectopts with "invalid command": older than 4.4.
    case selectionUnsupported
    case selectionFailed(ControlFailure)
    case failed(ControlCommand, ControlFailure)
    case done(ControlCommand)
    /// chronyd's tracking report, asked at `askedAt` (monotonic ns).
    case tracking(TrackingReport, askedAt: Int64)
    /// What chronyd says of VMCK (nil: it has no such refclock), from the
    /// request sent at `askedAt` (monotonic ns).
    case vmckSource(SourceReport?, askedAt: Int64)
    /// Asking chronyd about VMCK failed (chronyd unreachable, …).
    case vmckSourceFailed(ControlFailure, askedAt: Int64)
}

extension ChronydView {
    /// What an answer, had at `now`, says of chronyd's view of VMCK, if
    /// anything: a failed reset says why chronyd cannot be reached, for
    /// `vmclockd status` (the VMCK query, which would say so, is not asked
    /// while a reset is owed); a refusal is an answer, and says nothing of it.
    public init?(_ answer: ChronydAnswer, now: Int64) {
        switch answer {
        case .vmckSource(let report, let askedAt):
            self.init(askedAtMonotonic: askedAt, outcome: report.map { .source($0) } ?? .noSource)
        case .vmckSourceFailed(let failure, let askedAt):
            self.init(askedAtMonotonic: askedAt, outcome: .unreachable(failure.description))
        case .resetFailed(_, _, .refused): return nil
        case .resetFailed(_, _, let failure):
            self.init(askedAtMonotonic: now, outcome: .unreachable(failure.description))
        default: return nil
        }
    }
}
