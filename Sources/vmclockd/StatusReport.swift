import VMClockAccess
import VMClockPage

/// The result of `vmclockd status`, in the shape of its JSON schema
/// (README: "status --json"). Keys are the page's ABI field names.
struct StatusReport: Encodable {
    static let schemaVersion = 1

    var schema = Self.schemaVersion
    var device: String
    @Nullable var readMethod: String?
    /// usable | disruption-only | unusable | no-device | unreadable
    var verdict = "unusable"
    @Nullable var reason: String?
    @Nullable var page: PageFields?
    @Nullable var evaluation: Evaluation?

    init(device: String) { self.device = device }

    enum Point {
        case counter(UInt64)
        case bracket(CounterBracket)
    }

    mutating func judge(_ page: VMClockPage, taiPolicy: TAIOffsetPolicy, at point: Point) {
        self.page = PageFields(page)
        let assessment = PageAssessment(page: page, nativeCounter: Counter.native, taiPolicy: taiPolicy)
        verdict = assessment.verdict.rawValue
        reason = assessment.reason
        guard let clock = assessment.clockData else { return }
        switch point {
        case .counter(let counter):
            evaluation = Evaluation(clock: clock, counter: counter)
        case .bracket(let bracket):
            guard let comparison = clock.compare(with: bracket) else { return unrepresentable() }
            evaluation = Evaluation(clock: clock, counter: comparison.counter)
            evaluation?.system = SystemFields(comparison)
        }
        if evaluation?.utcSeconds == nil { unrepresentable() }
    }

    private mutating func unrepresentable() {
        verdict = PageVerdict.unusable.rawValue
        reason = "the page's time at this counter reading is outside 1970…2^62 s"
        evaluation = nil
    }

    mutating func fail(_ error: DeviceError) {
        switch error {
        case .absent: verdict = "no-device"
        default: verdict = "unreadable"
        }
        reason = error.description
    }

    mutating func fail(_ error: SnapshotError) {
        if case .device(let deviceError) = error { return fail(deviceError) }
        verdict = PageVerdict.unusable.rawValue
        reason = error.description
    }

    var exitStatus: StatusExit {
        switch verdict {
        case PageVerdict.usable.rawValue, PageVerdict.disruptionOnly.rawValue: .ok
        case "no-device": .noDevice
        case "unreadable": .unreadable
        default: .pageUnusable
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema, device, readMethod = "read_method", verdict, reason, page, evaluation
    }
}

/// The time the page gives at one counter reading.
struct Evaluation: Encodable {
    var counter: UInt64
    var timeType: String
    @Nullable var taiOffsetConvention: String?
    @Nullable var utcSeconds: Int64?
    @Nullable var utcNanoseconds: Int64?
    @Nullable var maxErrorNs: UInt64?
    @Nullable var estErrorNs: UInt64?
    @Nullable var system: SystemFields?

    init(clock: ClockData, counter: UInt64) {
        let utc = clock.utc(atCounter: counter)
        self.counter = counter
        timeType = clock.timeType.name
        taiOffsetConvention = clock.taiOffsetConvention?.rawValue
        utcSeconds = utc?.seconds
        utcNanoseconds = utc?.nanoseconds
        maxErrorNs = clock.maxErrorNanoseconds(atCounter: counter)
        estErrorNs = clock.estErrorNanoseconds(atCounter: counter)
    }

    enum CodingKeys: String, CodingKey {
        case counter, timeType = "time_type", taiOffsetConvention = "tai_offset_convention"
        case utcSeconds = "utc_seconds", utcNanoseconds = "utc_nanoseconds"
        case maxErrorNs = "max_error_ns", estErrorNs = "est_error_ns", system
    }

}

/// The comparison with CLOCK_REALTIME (absent with --at-counter).
struct SystemFields: Encodable {
    var realtimeSeconds: Int64
    var realtimeNanoseconds: Int64
    /// vmclock UTC − system time.
    var offsetNs: Int64
    var readUncertaintyNs: UInt64
    /// Page max error + read uncertainty: what the offset is good to.
    @Nullable var offsetMaxErrorNs: UInt64?

    init(_ comparison: SystemComparison) {
        realtimeSeconds = comparison.system.seconds
        realtimeNanoseconds = comparison.system.nanoseconds
        offsetNs = Int64(clamping: comparison.offsetNanoseconds)
        readUncertaintyNs = comparison.readUncertaintyNanoseconds
        offsetMaxErrorNs = comparison.offsetMaxErrorNanoseconds
    }

    enum CodingKeys: String, CodingKey {
        case realtimeSeconds = "realtime_seconds", realtimeNanoseconds = "realtime_nanoseconds"
        case offsetNs = "offset_ns", readUncertaintyNs = "read_uncertainty_ns"
        case offsetMaxErrorNs = "offset_max_error_ns"
    }

}

/// An optional that encodes as JSON null when absent (synthesized Codable
/// would leave the key out): the schema promises every key, null or not.
@propertyWrapper
struct Nullable<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
