import ChronyProtocol
import VMClockPage

/// Turns one cross-timestamp into a SOCK sample, or says why not. The bound
/// that must fit the promise is the page's bound at the reading plus the
/// read's own uncertainty: no sample claims more than both can justify. The
/// state machine holds on exactly this verdict, so "tracking" always means
/// samples leave.
public enum SampleBuilder {
    public enum Withheld: Error, Equatable, Sendable, CustomStringConvertible {
        case noTime
        case noErrorBound
        case boundAbovePromise(boundNanoseconds: UInt64)
        case nearLeapSecond

        public var description: String {
            switch self {
            case .noTime: "the page gives no UTC at this reading"
            case .noErrorBound: "the page gives no valid error bound"
            case .boundAbovePromise(let bound): "bound \(bound) ns with the read is above the promise"
            case .nearLeapSecond: "near a leap second, or evaluated across one the page was anchored before"
            }
        }
    }

    public struct Built: Equatable, Sendable {
        public var sample: SockSample
        public var offsetNanoseconds: Int128
        public var boundNanoseconds: UInt64
    }

    public static func build(
        clock: ClockData, bracket: CounterBracket, configuration: DaemonConfiguration
    ) -> Result<Built, Withheld> {
        guard let comparison = clock.compare(with: bracket) else { return .failure(.noTime) }
        guard let pageBound = configuration.errorBound(clock, atCounter: comparison.counter) else {
            return .failure(.noErrorBound)
        }
        let bound = pageBound.saturatingAdd(comparison.readUncertaintyNanoseconds)
        guard bound <= configuration.promiseNanoseconds else { return .failure(.boundAbovePromise(boundNanoseconds: bound)) }
        guard case .send(let leap) = LeapPolicy.decide(indicator: clock.leapIndicator, utc: comparison.utc, anchor: clock.anchorUTC) else {
            return .failure(.nearLeapSecond)
        }
        // chronyd takes the system time as a timeval (µs) and reads the
        // sample as "at system time tv, true time was tv + offset". The
        // offset (true − system) is the same at every instant near the read,
        // so it is the exact one; truncating tv only moves the instant.
        let sample = SockSample(
            systemSeconds: comparison.system.seconds, systemMicroseconds: comparison.system.nanoseconds / 1000,
            offsetSeconds: comparison.utc.seconds(since: comparison.system), leap: leap)
        return .success(Built(sample: sample, offsetNanoseconds: comparison.offsetNanoseconds, boundNanoseconds: bound))
    }
}

extension DaemonConfiguration {
    /// The page's bound at `counter`: the maximum error, or the estimate
    /// where the operator allows it and no maximum is given.
    public func errorBound(_ clock: ClockData, atCounter counter: UInt64) -> UInt64? {
        if let max = clock.maxErrorNanoseconds(atCounter: counter) { return max }
        return allowEstimatedError ? clock.estErrorNanoseconds(atCounter: counter) : nil
    }

    /// The promise in ns, rounded down: a bound must fit inside it.
    public var promiseNanoseconds: UInt64 { UInt64((maxError * 1e9).rounded(.down)) }
}
