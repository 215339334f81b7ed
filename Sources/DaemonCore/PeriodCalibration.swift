/// The daemon's own calibration of the CPU counter: its rate measured against
/// CLOCK_MONOTONIC_RAW (the hardware rate, never slewed by NTP) between the
/// oldest point kept and the latest. It exists to catch pages whose period is
/// wrong — wrong units, a host that stopped updating, gross host errors — and
/// it is exactly what a disruption makes worthless: after a migration it
/// starts again from nothing.
///
/// How long it needs is set by what it must resolve: each point is a bracket
/// good to about half its window (tens of ns here, a few µs on a loaded guest), so
/// over a span S the rate is known to (u₁ + u₂) / S. It is ready once that
/// uncertainty is a tenth of the tolerance it checks: 20 ms of span resolve
/// 500 ppm with 50 µs of bracket uncertainty to spare.
public struct PeriodCalibration: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var counter: UInt64
        public var rawNanoseconds: Int64
        /// How far the pairing may be off, ns (ClockData.readUncertaintyNanoseconds).
        public var uncertaintyNanoseconds: Int64
        public init(counter: UInt64, rawNanoseconds: Int64, uncertaintyNanoseconds: Int64 = 0) {
            self.counter = counter
            self.rawNanoseconds = rawNanoseconds
            self.uncertaintyNanoseconds = uncertaintyNanoseconds
        }
    }

    /// The shortest span judged at all, whatever the brackets claim.
    public static let minimumSpanNanoseconds: Int64 = 20_000_000
    /// Oldest point kept: long enough to average noise, short enough to
    /// follow the counter's real drift.
    public static let windowNanoseconds: Int64 = 64_000_000_000
    /// Points are kept at most this often, bounding memory (≤ 65 points).
    static let spacingNanoseconds: Int64 = 1_000_000_000

    private var points: [Point] = []
    private var latest: Point?

    public init() {
        points.reserveCapacity(Int(Self.windowNanoseconds / Self.spacingNanoseconds) + 2)
    }

    public mutating func record(_ point: Point) {
        if let last = latest, point.counter <= last.counter || point.rawNanoseconds <= last.rawNanoseconds {
            // The counter or the clock went backwards: nothing learned so far holds.
            reset()
        }
        latest = point
        if let kept = points.last, point.rawNanoseconds - kept.rawNanoseconds < Self.spacingNanoseconds { return }
        points.append(point)
        let oldest = point.rawNanoseconds - Self.windowNanoseconds
        if let first = points.firstIndex(where: { $0.rawNanoseconds >= oldest }), first > 0 {
            points.removeFirst(first)
        }
    }

    /// Forget everything (a disruption).
    public mutating func reset() {
        points.removeAll(keepingCapacity: true)
        latest = nil
    }

    public var spanNanoseconds: Int64 {
        guard let first = points.first, let latest else { return 0 }
        return latest.rawNanoseconds - first.rawNanoseconds
    }

    /// How far the page's period is from the measured rate, and how well
    /// that is known, in ppm; nil before the minimum span.
    public func disagreement(pageSecondsPerTick: Double) -> (ppm: Double, uncertaintyPPM: Double)? {
        guard let first = points.first, let latest, spanNanoseconds >= Self.minimumSpanNanoseconds else { return nil }
        let span = Double(spanNanoseconds)
        let measured = span * 1e-9 / Double(latest.counter - first.counter)
        let uncertainty = Double(first.uncertaintyNanoseconds + latest.uncertaintyNanoseconds) / span * 1e6
        return ((pageSecondsPerTick / measured - 1) * 1e6, uncertainty)
    }
}
