import ChronyProtocol

/// chronyd's tracking report as applications' bound needs it: when it was
/// asked, and what chronyd then claimed. Built by the loop, judged here.
public struct ChronydTracking: Sendable, Equatable {
    /// When the request was sent (CLOCK_MONOTONIC ns): the bound below held
    /// then or later, so it is taken to hold from then.
    public var askedAt: Int64
    /// chronyd steers by a reference (leap status not "unsynchronised").
    public var synchronised: Bool
    /// When chronyd last updated its reference, CLOCK_MONOTONIC ns.
    public var referenceUpdatedAt: Int64
    /// chronyd's own bound, as ClockBound computes it: root delay / 2 + root
    /// dispersion (grown to the answer by chronyd) + |remaining correction|, ns, rounded up.
    public var boundNanoseconds: Int64
    /// |remaining correction|: how far chronyd may still move the clock, ns, rounded up.
    public var correctionNanoseconds: Int64
    /// How fast chronyd's dispersion grows: skew + |residual frequency| +
    /// its default `maxclockerror` (1 ppm), ppb, rounded up.
    public var driftPPB: UInt32
    /// Seconds between chronyd's last two updates, ns.
    public var updateIntervalNanoseconds: Int64

    /// chronyd's `maxclockerror` default, ppb: the clock's own rate error it assumes.
    public static let maxClockErrorPPB: UInt32 = 1000

    /// `answeredAt` (monotonic) is when the answer was read; `referenceAge`
    /// how long before it, by chronyd's reference time and the system clock
    /// read with it (chronyd moves its reference time with every step it
    /// makes); nil or negative (a reference time ahead of the clock, or past
    /// any Int64) says nothing of when: taken as never, so it can neither end
    /// a disruption nor pass for fresh.
    public init(_ report: TrackingReport, askedAt: Int64, answeredAt: Int64, referenceAgeNanoseconds: Int64?) {
        self.askedAt = askedAt
        synchronised = report.isSynchronised
        referenceUpdatedAt = referenceAgeNanoseconds.flatMap { $0 >= 0 ? answeredAt &- $0 : nil } ?? .min
        let correction = abs(report.currentCorrection)
        correctionNanoseconds = Self.nanosecondsUp(correction)
        boundNanoseconds = Self.nanosecondsUp(report.rootDelay / 2 + report.rootDispersion + correction)
        let ppb = (abs(report.skewPPM) + abs(report.residualFrequencyPPM)) * 1000
        driftPPB = ppb.isFinite && ppb < 9e8 ? UInt32(ppb.rounded(.up)) + Self.maxClockErrorPPB : 999_999_999
        updateIntervalNanoseconds = Self.nanosecondsUp(report.lastUpdateInterval)
    }

    /// Seconds to ns, rounded up, plus 1 ns for the Double's own rounding;
    /// saturated (a NaN or an absurd value claims the most, never the least).
    static func nanosecondsUp(_ seconds: Double) -> Int64 {
        let ns = (seconds * 1e9).rounded(.up)
        guard ns.isFinite, ns >= 0 else { return ns < 0 ? 1 : Int64.max / 4 }
        return ns < 4e18 ? Int64(ns) + 1 : Int64.max / 4
    }
}
