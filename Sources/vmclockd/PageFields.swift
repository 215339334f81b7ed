import VMClockSystem
import VMClockPage

/// Every page field under its ABI name, in page order, with a readable
/// annotation where the raw value encodes something. One list drives both
/// the JSON (`page` object; absent fields are null) and the text output.
struct PageFields {
    struct Field {
        var name: String
        var value: Int128?
        var annotation: String?
        /// A 64-bit field: written as a decimal string (JSONValue.exact).
        var isWide: Bool
    }

    var fields: [Field]
    var flagNames: [String]

    init(_ page: VMClockPage) {
        func field<T: FixedWidthInteger>(_ name: String, _ value: T?, _ note: String? = nil) -> Field {
            Field(name: name, value: value.map { Int128($0) }, annotation: value == nil ? nil : note, isWide: T.bitWidth > 32)
        }
        let flags = page.flags
        fields = [
            field("magic", page.magic, "VCLK"),
            field("size", page.size),
            field("version", page.version),
            field("counter_id", page.counterID, CounterID(rawValue: page.counterID)?.name ?? "undefined"),
            field("time_type", page.timeType, TimeType(rawValue: page.timeType)?.name ?? "undefined"),
            field("seq_count", page.seqCount),
            field("disruption_marker", page.disruptionMarker),
            field("flags", flags.rawValue, flags.names.joined(separator: ", ") + (flags.unknownBits != 0 ? " + unknown bits" : "")),
            field("clock_status", page.clockStatus, page.clockStatus.map { ClockStatus(rawValue: $0)?.name ?? "undefined" }),
            field("leap_second_smearing_hint", page.leapSecondSmearingHint,
                  page.leapSecondSmearingHint.map { SmearingHint(rawValue: $0)?.name ?? "undefined" }),
            field("tai_offset_sec", page.taiOffsetSec,
                  flags.contains(.taiOffsetValid) ? "valid" : "not valid"),
            field("leap_indicator", page.leapIndicator, page.leapIndicator.map { LeapIndicator(rawValue: $0)?.name ?? "undefined" }),
            field("counter_period_shift", page.counterPeriodShift),
            field("counter_value", page.counterValue),
            field("counter_period_frac_sec", page.counterPeriodFracSec),
            field("counter_period_esterror_rate_frac_sec", page.counterPeriodEsterrorRateFracSec,
                  flags.contains(.periodEsterrorValid) ? "valid" : "not valid"),
            field("counter_period_maxerror_rate_frac_sec", page.counterPeriodMaxerrorRateFracSec,
                  flags.contains(.periodMaxerrorValid) ? "valid" : "not valid"),
            field("time_sec", page.timeSec),
            field("time_frac_sec", page.timeFracSec),
            field("time_esterror_nanosec", page.timeEsterrorNanosec,
                  flags.contains(.timeEsterrorValid) ? "valid" : "not valid"),
            field("time_maxerror_nanosec", page.timeMaxerrorNanosec,
                  flags.contains(.timeMaxerrorValid) ? "valid" : "not valid"),
            field("vm_generation_counter", page.vmGenerationCounter,
                  flags.contains(.vmGenerationCounterPresent) ? "present" : "flag clear"),
        ]
        flagNames = flags.names
    }

    var json: JSONValue {
        var members: [String: JSONValue] = ["flag_names": .array(flagNames.map(JSONValue.string))]
        for field in fields { members[field.name] = field.isWide ? .exact(field.value) : .from(field.value) }
        return .object(members)
    }
}
