/// The page's `counter_id`: which CPU counter the clock data is based on.
public enum CounterID: UInt8, Sendable, CaseIterable {
    case arm64VirtualCounter = 0
    case x86TSC = 1
    case invalid = 0xff

    public var name: String {
        switch self {
        case .arm64VirtualCounter: "arm64-cntvct"
        case .x86TSC: "x86-tsc"
        case .invalid: "invalid"
        }
    }
}

/// The page's `time_type`: what timescale `time_sec` counts.
public enum TimeType: UInt8, Sendable, CaseIterable {
    case utc = 0
    case tai = 1
    case monotonic = 2
    case smeared = 3
    case maybeSmeared = 4

    public var name: String {
        switch self {
        case .utc: "utc"
        case .tai: "tai"
        case .monotonic: "monotonic"
        case .smeared: "smeared"
        case .maybeSmeared: "maybe-smeared"
        }
    }
}

/// The page's `clock_status`: how the host rates its own clock.
public enum ClockStatus: UInt8, Sendable, CaseIterable {
    case unknown = 0
    case initializing = 1
    case synchronized = 2
    case freerunning = 3
    case unreliable = 4

    public var name: String {
        switch self {
        case .unknown: "unknown"
        case .initializing: "initializing"
        case .synchronized: "synchronized"
        case .freerunning: "freerunning"
        case .unreliable: "unreliable"
        }
    }
}

/// The page's `leap_indicator`.
public enum LeapIndicator: UInt8, Sendable, CaseIterable {
    case none = 0
    case positiveAtEndOfMonth = 1
    case negativeAtEndOfMonth = 2
    case duringPositiveLeap = 3
    case afterPositiveLeap = 4
    case afterNegativeLeap = 5

    public var name: String {
        switch self {
        case .none: "none"
        case .positiveAtEndOfMonth: "positive-at-end-of-month"
        case .negativeAtEndOfMonth: "negative-at-end-of-month"
        case .duringPositiveLeap: "during-positive-leap"
        case .afterPositiveLeap: "after-positive-leap"
        case .afterNegativeLeap: "after-negative-leap"
        }
    }
}

/// The page's `leap_second_smearing_hint`. A hint only: the page is never smeared.
public enum SmearingHint: UInt8, Sendable, CaseIterable {
    case strict = 0
    case noonLinear = 1
    case utcSLS = 2

    public var name: String {
        switch self {
        case .strict: "strict"
        case .noonLinear: "noon-linear"
        case .utcSLS: "utc-sls"
        }
    }
}

/// The page's `flags`, bits 0–9.
public struct PageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let taiOffsetValid = PageFlags(rawValue: 1 << 0)
    public static let disruptionSoon = PageFlags(rawValue: 1 << 1)
    public static let disruptionImminent = PageFlags(rawValue: 1 << 2)
    public static let periodEsterrorValid = PageFlags(rawValue: 1 << 3)
    public static let periodMaxerrorValid = PageFlags(rawValue: 1 << 4)
    public static let timeEsterrorValid = PageFlags(rawValue: 1 << 5)
    public static let timeMaxerrorValid = PageFlags(rawValue: 1 << 6)
    public static let timeMonotonic = PageFlags(rawValue: 1 << 7)
    public static let vmGenerationCounterPresent = PageFlags(rawValue: 1 << 8)
    public static let notificationPresent = PageFlags(rawValue: 1 << 9)

    /// Every known flag with its ABI name (lower case, without the VMCLOCK_FLAG_ prefix).
    public static let named: [(name: String, flag: PageFlags)] = [
        ("tai_offset_valid", .taiOffsetValid),
        ("disruption_soon", .disruptionSoon),
        ("disruption_imminent", .disruptionImminent),
        ("period_esterror_valid", .periodEsterrorValid),
        ("period_maxerror_valid", .periodMaxerrorValid),
        ("time_esterror_valid", .timeEsterrorValid),
        ("time_maxerror_valid", .timeMaxerrorValid),
        ("time_monotonic", .timeMonotonic),
        ("vm_gen_counter_present", .vmGenerationCounterPresent),
        ("notification_present", .notificationPresent),
    ]

    public var names: [String] {
        Self.named.filter { contains($0.flag) }.map(\.name)
    }

    /// Bits the ABI does not define; shown, never acted upon.
    public var unknownBits: UInt64 { rawValue & ~0x3ff }
}
