import VMClockAccess
import VMClockPage

/// What the simulated host publishes. Every setting has a `key=value` form,
/// used alike on vmclock-sim's command line and in `set` commands on its
/// standard input, so there is one parser and one list (`SimulationSettings.keys`).
public struct SimulationSettings: Sendable, Equatable {
    public enum Mode: String, Sendable { case clock, pattern }

    /// vmclock time − system time, in ns.
    public var offsetNanoseconds: Int64 = 0
    /// The published period is the true one × (1 + ppm·10^-6).
    public var periodErrorPPM: Double = 0
    public var updateIntervalMilliseconds: Double = 50
    public var writeDelayMicroseconds: UInt32 = 0
    /// Every update ends at the seq_count it started from: a host that builds
    /// a fresh page on a migration's destination may repeat a count the guest saw.
    public var keepsSeqCount = false
    public var timeMaxerrorNanoseconds: UInt64 = 10_000
    public var timeEsterrorNanoseconds: UInt64 = 1_000
    /// Period error bounds in parts per billion of the period.
    public var periodMaxerrorPPB: Double = 100
    public var periodEsterrorPPB: Double = 10
    public var flags: PageFlags = [
        .periodEsterrorValid, .periodMaxerrorValid, .timeEsterrorValid, .timeMaxerrorValid,
        .vmGenerationCounterPresent,
    ]
    public var clockStatus = ClockStatus.synchronized.rawValue
    public var timeType = TimeType.utc.rawValue
    /// Raw tai_offset_sec as written (the ABI's sign is UTC − TAI: −37).
    public var taiOffsetField: Int16 = -37
    /// The true TAI − UTC used to produce TAI time on TAI pages.
    public var taiMinusUTCSeconds: Int64 = 37
    public var leapIndicator = LeapIndicator.none.rawValue
    public var smearingHint = SmearingHint.strict.rawValue
    public var counterID = (Counter.native ?? .invalid).rawValue
    public var size = UInt32(PageLayout.pageSize)
    public var shift: UInt8?
    public var magic = PageLayout.magicValue
    public var version = PageLayout.supportedVersion
    public var mode = Mode.clock

    public init() {}

    /// The update interval in ns (0 in pattern mode means "continuously"):
    /// negative as 0, and at most 10^12 ms (31 years), so that adding it to
    /// a monotonic time cannot overflow.
    public var updateIntervalNanoseconds: Int64 {
        Int64(min(max(updateIntervalMilliseconds, 0), 1e12) * 1e6)
    }

    /// Applies `key=value` pairs in order.
    public mutating func apply(_ assignments: some Sequence<String>) throws(SettingError) {
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "=") else { throw .notAnAssignment(assignment) }
            let key = String(assignment[..<equals])
            let value = String(assignment[assignment.index(after: equals)...])
            guard let setting = Self.keys.first(where: { $0.key == key }) else { throw .unknownKey(key) }
            guard setting.apply(&self, value) else { throw .badValue(key: key, value: value, expected: setting.help) }
        }
    }
}

public enum SettingError: Error, Equatable, CustomStringConvertible {
    case notAnAssignment(String)
    case unknownKey(String)
    case badValue(key: String, value: String, expected: String)

    public var description: String {
        switch self {
        case .notAnAssignment(let text): "'\(text)' is not key=value"
        case .unknownKey(let key): "unknown setting '\(key)' (known: \(SimulationSettings.keys.map(\.key).joined(separator: ", ")))"
        case .badValue(let key, let value, let expected): "\(key)=\(value): expected \(expected)"
        }
    }
}
