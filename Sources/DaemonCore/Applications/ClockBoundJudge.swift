import ClockBoundProtocol

/// Decides what applications are told (README, "What applications are
/// told"). Pure: the loop hands it the state machine after each look, the
/// events it logs, chronyd's acknowledgements and tracking reports, and
/// writes its verdict. Its one memory is the owed resynchronisation: from
/// the look that sees a disruption until chronyd has both acknowledged the
/// reset and been seen synchronised from fresh measurements (or vmclockd
/// tracks again), nothing from before is vouched for.
public struct ClockBoundJudge: Sendable {
    enum Owed: Sendable, Equatable {
        /// A disruption or a host step: Disrupted.
        case disruption
        /// A start that could not rule one out: Unknown.
        case unverifiedStart
    }

    private var owed: Owed?
    /// When chronyd last acknowledged a reset (CLOCK_MONOTONIC ns).
    private var acknowledgedAt: Int64?
    private var tracking: ChronydTracking?

    /// A tracking report older than this vouches for nothing: chronyd is
    /// asked every second.
    public static let trackingFreshNanoseconds: Int64 = 3_000_000_000
    /// A reference updated this soon after an acknowledgement could be one
    /// chronyd made before the reset (the times compared are derived from
    /// two clocks and Doubles; a real resynchronisation takes many samples).
    static let updateAfterAckMarginNanoseconds: Int64 = 1_000_000
    /// chronyd's reference is stale after 8 update intervals (ClockBound's
    /// rule), and never sooner than this.
    static let staleFloorNanoseconds: Int64 = 8_000_000_000

    public init() {}

    /// An event the state machine logged.
    public mutating func noticed(_ event: DaemonEvent) {
        switch event {
        case .disruption(.unverifiedStart, _, _, _, _): owed = owed ?? .unverifiedStart
        case .disruption, .hostStep: owed = .disruption
        default: break
        }
    }

    public mutating func resetAcknowledged(at now: Int64) { acknowledgedAt = now }

    public mutating func chronyd(_ report: ChronydTracking) { tracking = report }

    /// The verdict now, from the state machine as the last look (at
    /// `lookedAt`, monotonic) left it; releases the owed resynchronisation
    /// once it is done.
    public mutating func verdict(core: DaemonCore, lookedAt: Int64, now: Int64) -> ClockBoundVerdict {
        let fresh = tracking.flatMap { now &- $0.askedAt <= Self.trackingFreshNanoseconds ? $0 : nil }
        if owed != nil, resynchronised(core, fresh) { owed = nil }
        let marker = core.identity?.disruptionMarker ?? 0
        switch core.state {
        case .starting: return .unknown(.starting, marker: marker, at: now)
        case .holding(.deviceUnavailable):
            // The look that saw it go is a disruption: Disrupted until chronyd
            // is reset; then nothing is vouched for without a device.
            if owed == .disruption, core.resetOwed != nil { return disrupted(.resetOwed, marker, support: false, now) }
            return .unknown(.noDevice, marker: marker, at: now)
        default: break
        }
        switch owed {
        case .disruption?: return disrupted(core.resetOwed != nil ? .resetOwed : .resyncOwed, marker, support: true, now)
        case .unverifiedStart?: return .unknown(.unverifiedStart, marker: marker, support: true, at: now)
        case nil: break
        }
        guard let fresh else { return .unknown(.chronydUnreachable, marker: marker, support: true, at: now) }
        if core.state == .tracking, let sample = core.sample {
            // |true − system| at the look, with every part rounded up.
            let offset = Int64(clamping: sample.offsetNanoseconds.magnitude)
            let bound = offset.saturatingAdd(Int64(clamping: sample.boundNanoseconds)).saturatingAdd(fresh.correctionNanoseconds)
            return .init(status: .synchronized, reason: .measured, boundNanoseconds: bound, at: lookedAt,
                         maxDriftPPB: fresh.driftPPB, disruptionMarker: marker, disruptionSupport: true)
        }
        guard fresh.synchronised else { return .unknown(.chronydUnsynchronised, marker: marker, support: true, at: now) }
        let staleAfter = max(Self.staleFloorNanoseconds, fresh.updateIntervalNanoseconds.saturatingMultiply(8))
        let stale = now &- fresh.referenceUpdatedAt > staleAfter
        return .init(status: stale ? .freeRunning : .synchronized, reason: stale ? .chronydStale : .chronyd,
                     boundNanoseconds: fresh.boundNanoseconds, at: fresh.askedAt, maxDriftPPB: fresh.driftPPB,
                     disruptionMarker: marker, disruptionSupport: true)
    }

    /// chronyd acknowledged every reset owed, and since then either
    /// vmclockd tracks again (its bound is measured) or chronyd synchronised
    /// from measurements made after the acknowledgement.
    private func resynchronised(_ core: DaemonCore, _ fresh: ChronydTracking?) -> Bool {
        guard core.resetOwed == nil, let acknowledgedAt else { return false }
        if core.state == .tracking { return true }
        guard let fresh, fresh.synchronised, fresh.askedAt > acknowledgedAt else { return false }
        return fresh.referenceUpdatedAt > acknowledgedAt &+ Self.updateAfterAckMarginNanoseconds
    }

    private func disrupted(_ reason: ClockBoundVerdict.Reason, _ marker: UInt64, support: Bool, _ now: Int64) -> ClockBoundVerdict {
        .init(status: .disrupted, reason: reason, boundNanoseconds: 0, at: now, maxDriftPPB: 0, disruptionMarker: marker,
              disruptionSupport: support)
    }
}

extension Int64 {
    func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    func saturatingMultiply(_ other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? .max : product
    }
}
