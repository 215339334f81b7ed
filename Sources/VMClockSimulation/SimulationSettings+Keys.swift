import VMClockPage

/// One settable key: its name, what it takes, and how to apply a value
/// (false when the value does not parse).
public struct SettingKey: Sendable {
    public let key: String
    public let help: String
    let apply: @Sendable (inout SimulationSettings, String) -> Bool
}

extension SimulationSettings {
    public static let keys: [SettingKey] = [
        number("offset_ns", "vmclock − system time, ns", \.offsetNanoseconds),
        number("period_error_ppm", "error of the published period, ppm", \.periodErrorPPM),
        number("update_interval_ms", "how often the page is rewritten, ms (0: continuously)", \.updateIntervalMilliseconds),
        number("write_delay_us", "pause between word stores while seq_count is odd, µs", \.writeDelayMicroseconds),
        number("keep_seq", "true or false: every update ends at the seq_count it started from (a repeated count)", \.keepsSeqCount),
        number("time_maxerror_ns", "time_maxerror_nanosec", \.timeMaxerrorNanoseconds),
        number("time_esterror_ns", "time_esterror_nanosec", \.timeEsterrorNanoseconds),
        number("period_maxerror_ppb", "period max error, ppb of the period", \.periodMaxerrorPPB),
        number("period_esterror_ppb", "period estimated error, ppb of the period", \.periodEsterrorPPB),
        SettingKey(key: "flags", help: "flag names joined by ',' (or +name / -name to change one), or a number") {
            guard let flags = parseFlags($1, current: $0.flags) else { return false }
            $0.flags = flags
            return true
        },
        named("clock_status", \.clockStatus, ClockStatus.allCases.map { ($0.name, $0.rawValue) }),
        named("time_type", \.timeType, TimeType.allCases.map { ($0.name, $0.rawValue) }),
        named("leap_indicator", \.leapIndicator, LeapIndicator.allCases.map { ($0.name, $0.rawValue) }),
        named("smearing_hint", \.smearingHint, SmearingHint.allCases.map { ($0.name, $0.rawValue) }),
        named("counter_id", \.counterID, CounterID.allCases.map { ($0.name, $0.rawValue) }),
        number("tai_offset", "raw tai_offset_sec (ABI sign: UTC − TAI, −37)", \.taiOffsetField),
        number("tai_minus_utc", "true TAI − UTC used for TAI pages, s", \.taiMinusUTCSeconds),
        number("size", "the page's size field, bytes", \.size),
        SettingKey(key: "shift", help: "counter_period_shift, or auto") {
            if $1 == "auto" { $0.shift = nil; return true }
            guard let shift = UInt8($1) else { return false }
            $0.shift = shift
            return true
        },
        number("magic", "the magic field (hostile pages)", \.magic),
        number("version", "the version field (hostile pages)", \.version),
        SettingKey(key: "mode", help: "clock (a real clock) or pattern (self-checking torn-write test pages)") {
            guard let mode = Mode(rawValue: $1) else { return false }
            $0.mode = mode
            return true
        },
    ]

    private static func number<T: LosslessStringConvertible & Sendable>(
        _ key: String, _ help: String, _ path: WritableKeyPath<SimulationSettings, T> & Sendable
    ) -> SettingKey {
        SettingKey(key: key, help: help) {
            // Not nan or inf: the page's period and error rates are made from them.
            guard let value = T($1), (value as? Double)?.isFinite ?? true else { return false }
            $0[keyPath: path] = value
            return true
        }
    }

    private static func named(
        _ key: String, _ path: WritableKeyPath<SimulationSettings, UInt8> & Sendable, _ names: [(String, UInt8)]
    ) -> SettingKey {
        SettingKey(key: key, help: names.map(\.0).joined(separator: "|") + " or a number 0…255") {
            value, text in
            guard let raw = names.first(where: { $0.0 == text })?.1 ?? UInt8(text) else { return false }
            value[keyPath: path] = raw
            return true
        }
    }

    private static func parseFlags(_ text: String, current: PageFlags) -> PageFlags? {
        if let raw = UInt64(text) { return PageFlags(rawValue: raw) }
        var flags: PageFlags = text.hasPrefix("+") || text.hasPrefix("-") ? current : []
        for item in text.split(separator: ",") where !item.isEmpty && item != "none" {
            let name = item.drop { $0 == "+" || $0 == "-" }
            guard let flag = PageFlags.named.first(where: { $0.name == name })?.flag else { return nil }
            if item.hasPrefix("-") { flags.remove(flag) } else { flags.insert(flag) }
        }
        return flags
    }
}
