/// The part of a page that maps counter readings to time, extracted only when
/// every field it needs is present and sane. Holding a `ClockData` means the
/// page can give a time; the math lives in `ClockData+Time.swift`.
public struct ClockData: Sendable, Equatable {
    public var counterID: CounterID
    public var timeType: TimeType
    public var counterValue: UInt64
    public var counterPeriodFracSec: UInt64
    public var counterPeriodShift: UInt8
    public var timeSec: UInt64
    public var timeFracSec: UInt64
    /// Seconds to add to the page's timescale to get UTC (0 for UTC pages).
    public var utcAdjustmentSeconds: Int64
    public var taiOffsetConvention: TAIOffsetConvention?
    /// Page time error at `counterValue`, only where its flag says valid.
    public var timeMaxerrorNanosec: UInt64?
    public var timeEsterrorNanosec: UInt64?
    /// Period error rates (units of the period), only where valid.
    public var periodMaxerrorRate: UInt64?
    public var periodEsterrorRate: UInt64?
    public var clockStatus: ClockStatus
    public var leapIndicator: LeapIndicator
}

/// Why a structurally valid page gives no time. Each case names the field and value.
public enum ClockDataError: Error, Equatable, Sendable, CustomStringConvertible {
    case noClockData
    case clockFieldsAbsent(size: UInt32)
    case unknownCounterID(UInt8)
    case foreignCounter(page: CounterID, native: CounterID?)
    case unknownTimeType(UInt8)
    case monotonicTimeType
    case smearedTimeType(TimeType)
    case taiOffsetNotValid
    case implausibleTAIOffset(Int16, TAIOffsetPolicy)
    case unknownClockStatus(UInt8)
    case unknownLeapIndicator(UInt8)
    case shiftTooLarge(UInt8)
    case zeroPeriod
    case timeSecondsOutOfRange(UInt64)
    case absurdTimeError(field: String, nanoseconds: UInt64)
    case absurdPeriodError(field: String, rate: UInt64, period: UInt64)
    case estimateAboveMaximum(estimate: UInt64, maximum: UInt64)

    public var description: String {
        switch self {
        case .noClockData:
            "counter_id is 0xff (invalid): the page carries no clock data, only disruption signalling"
        case .clockFieldsAbsent(let size):
            "size is \(size) bytes: the clock fields (up to time_frac_sec, \(PageLayout.clockDataEnd) bytes) are absent"
        case .unknownCounterID(let raw):
            "counter_id is \(raw), which the ABI does not define"
        case .foreignCounter(let page, let native):
            "counter_id is \(page.rawValue) (\(page.name)) but this machine reads \(native.map { "\($0.rawValue) (\($0.name))" } ?? "no supported counter"): no time rather than a wrong one"
        case .unknownTimeType(let raw):
            "time_type is \(raw), which the ABI does not define"
        case .monotonicTimeType:
            "time_type is 2 (monotonic): no epoch, so no UTC"
        case .smearedTimeType(let type):
            "time_type is \(type.rawValue) (\(type.name)): smeared time is never usable"
        case .taiOffsetNotValid:
            "time_type is 1 (tai) but flag tai_offset_valid is clear: no UTC"
        case .implausibleTAIOffset(let value, let policy):
            "tai_offset_sec is \(value), implausible under TAI offset policy \(policy.rawValue) (expected a magnitude of \(TAIOffsetPolicy.plausibleMagnitude.lowerBound)…\(TAIOffsetPolicy.plausibleMagnitude.upperBound) s)"
        case .unknownClockStatus(let raw):
            "clock_status is \(raw), which the ABI does not define"
        case .unknownLeapIndicator(let raw):
            "leap_indicator is \(raw), which the ABI does not define"
        case .shiftTooLarge(let shift):
            "counter_period_shift is \(shift): 64 or more would make every period below 2^-128 s"
        case .zeroPeriod:
            "counter_period_frac_sec is 0: the counter would not advance time"
        case .timeSecondsOutOfRange(let seconds):
            "time_sec is \(seconds), beyond any representable date"
        case .absurdTimeError(let field, let ns):
            "\(field) is \(ns) ns, more than the \(ClockData.absurdTimeErrorNanoseconds) ns anyone could use"
        case .absurdPeriodError(let field, let rate, let period):
            "\(field) is \(rate), not smaller than the period \(period) itself"
        case .estimateAboveMaximum(let estimate, let maximum):
            "time_esterror_nanosec \(estimate) exceeds time_maxerror_nanosec \(maximum): the page contradicts itself"
        }
    }

    /// Pages that are fine but carry no clock data are "disruption-only", not broken.
    public var isDisruptionOnly: Bool {
        switch self {
        case .noClockData, .clockFieldsAbsent: true
        default: false
        }
    }
}

extension ClockData {
    /// A time error bound above one day is not a bound anyone can act on; such
    /// a page is treated as broken rather than as a clock with a useless bound.
    public static let absurdTimeErrorNanoseconds: UInt64 = 86_400 * 1_000_000_000
    /// time_sec must leave room for seconds arithmetic in Int64 with margin.
    public static let maximumTimeSeconds: UInt64 = 1 << 62
}

extension VMClockPage {
    /// The clock data, or why there is none. `nativeCounter` is the counter
    /// this machine reads (nil: none); a page for another counter gives no time.
    public func clockData(
        nativeCounter: CounterID?, taiPolicy: TAIOffsetPolicy = .automatic
    ) throws(ClockDataError) -> ClockData {
        let counter = try checkedCounter(native: nativeCounter)
        guard let shift = counterPeriodShift, let counterValue, let period = counterPeriodFracSec,
            let timeSec, let timeFrac = timeFracSec, let rawStatus = clockStatus,
            let rawLeap = leapIndicator, let rawTAIOffset = taiOffsetSec
        else { throw .clockFieldsAbsent(size: size) }
        let timeType = try checkedTimeType()
        guard let status = ClockStatus(rawValue: rawStatus) else { throw .unknownClockStatus(rawStatus) }
        guard let leap = LeapIndicator(rawValue: rawLeap) else { throw .unknownLeapIndicator(rawLeap) }
        guard shift < 64 else { throw .shiftTooLarge(shift) }
        guard period != 0 else { throw .zeroPeriod }
        guard timeSec <= ClockData.maximumTimeSeconds else { throw .timeSecondsOutOfRange(timeSec) }
        let (adjustment, convention) = try utcAdjustment(timeType: timeType, raw: rawTAIOffset, policy: taiPolicy)
        let errors = try checkedErrors(period: period)
        return ClockData(
            counterID: counter, timeType: timeType, counterValue: counterValue,
            counterPeriodFracSec: period, counterPeriodShift: shift, timeSec: timeSec,
            timeFracSec: timeFrac, utcAdjustmentSeconds: adjustment,
            taiOffsetConvention: convention, timeMaxerrorNanosec: errors.timeMax,
            timeEsterrorNanosec: errors.timeEst, periodMaxerrorRate: errors.periodMax,
            periodEsterrorRate: errors.periodEst, clockStatus: status, leapIndicator: leap)
    }

    private func checkedCounter(native: CounterID?) throws(ClockDataError) -> CounterID {
        guard let counter = CounterID(rawValue: counterID) else { throw .unknownCounterID(counterID) }
        guard counter != .invalid else { throw .noClockData }
        guard Int(size) >= PageLayout.clockDataEnd else { throw .clockFieldsAbsent(size: size) }
        guard counter == native else { throw .foreignCounter(page: counter, native: native) }
        return counter
    }

    private func checkedTimeType() throws(ClockDataError) -> TimeType {
        guard let type = TimeType(rawValue: timeType) else { throw .unknownTimeType(timeType) }
        switch type {
        case .utc, .tai: return type
        case .monotonic: throw .monotonicTimeType
        case .smeared, .maybeSmeared: throw .smearedTimeType(type)
        }
    }

    private func utcAdjustment(
        timeType: TimeType, raw: Int16, policy: TAIOffsetPolicy
    ) throws(ClockDataError) -> (Int64, TAIOffsetConvention?) {
        guard timeType == .tai else { return (0, nil) }
        guard flags.contains(.taiOffsetValid) else { throw .taiOffsetNotValid }
        guard let convention = policy.convention(forRawOffset: raw) else {
            throw .implausibleTAIOffset(raw, policy)
        }
        return (convention.utcMinusTAI(raw), convention)
    }

    private struct ValidErrors {
        var timeMax, timeEst, periodMax, periodEst: UInt64?
    }

    private func checkedErrors(period: UInt64) throws(ClockDataError) -> ValidErrors {
        let errors = ValidErrors(
            timeMax: flags.contains(.timeMaxerrorValid) ? timeMaxerrorNanosec : nil,
            timeEst: flags.contains(.timeEsterrorValid) ? timeEsterrorNanosec : nil,
            periodMax: flags.contains(.periodMaxerrorValid) ? counterPeriodMaxerrorRateFracSec : nil,
            periodEst: flags.contains(.periodEsterrorValid) ? counterPeriodEsterrorRateFracSec : nil)
        for (field, value) in [("time_maxerror_nanosec", errors.timeMax), ("time_esterror_nanosec", errors.timeEst)] {
            if let value, value > ClockData.absurdTimeErrorNanoseconds {
                throw .absurdTimeError(field: field, nanoseconds: value)
            }
        }
        for (field, value) in [
            ("counter_period_maxerror_rate_frac_sec", errors.periodMax),
            ("counter_period_esterror_rate_frac_sec", errors.periodEst),
        ] {
            if let value, value >= period { throw .absurdPeriodError(field: field, rate: value, period: period) }
        }
        if let est = errors.timeEst, let max = errors.timeMax, est > max {
            throw .estimateAboveMaximum(estimate: est, maximum: max)
        }
        return errors
    }
}
