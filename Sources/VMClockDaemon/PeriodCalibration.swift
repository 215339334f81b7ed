/// The daemon's own calibration of the CPU counter: its rate measured against
/// CLOCK_MONOTONIC_RAW (the hardware rate, never slewed by NTP) over a sliding
/// window. It exists to catch pages whose period is wrong — wrong units, a
/// host that stopped updating, gross host errors — and it is exactly what a
/// disruption makes worthless: after a migration it starts again from nothing.
public struct PeriodCalibration: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var counter: UInt64
        public var rawNanoseconds: Int64
        public init(counter: UInt64, rawNanoseconds: Int64) {
            self.counter = counter
            self.rawNanoseconds = rawNanoseconds
        }
    }

    /// Span needed before the rate is trusted: a bracket is good to ~100 ns,
    /// so one second measures the rate to ~0.1 ppm, far inside any tolerance.
    public static let minimumSpanNanoseconds: Int64 = 1_000_000_000
    /// Oldest point kept: long enough to average noise, short enough to
    /// follow the counter's real drift.
    public static let windowNanoseconds: Int64 = 64_000_000_000
    /// Points are kept at most this often, bounding memory (≤ 256 points).
    static let spacingNanoseconds: Int64 = 250_000_000

    private var points: [Point] = []

    public init() {}

    public mutating func record(_ point: Point) {
        if let last = points.last {
            guard point.counter > last.counter, point.rawNanoseconds > last.rawNanoseconds else {
                // The counter or the clock went backwards: nothing learned so far holds.
                points = [point]
                return
            }
            guard point.rawNanoseconds - last.rawNanoseconds >= Self.spacingNanoseconds else { return }
        }
        points.append(point)
        let oldest = point.rawNanoseconds - Self.windowNanoseconds
        if let first = points.firstIndex(where: { $0.rawNanoseconds >= oldest }), first > 0 {
            points.removeFirst(first)
        }
    }

    /// Forget everything (a disruption).
    public mutating func reset() { points = [] }

    public var spanNanoseconds: Int64 {
        guard let first = points.first, let last = points.last else { return 0 }
        return last.rawNanoseconds - first.rawNanoseconds
    }

    public var isReady: Bool { spanNanoseconds >= Self.minimumSpanNanoseconds }

    /// Measured seconds per counter tick, once ready.
    public var secondsPerTick: Double? {
        guard isReady, let first = points.first, let last = points.last else { return nil }
        return Double(last.rawNanoseconds - first.rawNanoseconds) * 1e-9 / Double(last.counter - first.counter)
    }

    /// How far the page's period is from the measured one, in ppm.
    public func disagreementPPM(pageSecondsPerTick: Double) -> Double? {
        guard let measured = secondsPerTick else { return nil }
        return (pageSecondsPerTick / measured - 1) * 1e6
    }
}
