import VMClockAccess
import VMClockSystem
import VMClockPage

/// The result of `vmclockd status`, in the shape of its JSON schema
/// (README: "status --json"). Keys are the page's ABI field names.
struct StatusReport {
    /// Bumped only on incompatible changes ("daemon" was added compatibly;
    /// 2: every 64-bit page field, the counter and the daemon's markers and
    /// ns timestamps as decimal strings, exact where a double is not).
    static let schemaVersion = 2

    var schema = Self.schemaVersion
    var device: String
    var readMethod: String?
    var verdict = Verdict.page(.unusable)
    var reason: String?
    var page: PageFields?
    var evaluation: Evaluation?
    var daemon: DaemonStatus?

    init(device: String) { self.device = device }

    /// The page's verdict, or why there is no page to judge.
    enum Verdict: Equatable {
        case page(PageVerdict)
        case noDevice
        case unreadable

        /// As printed and in JSON: usable | disruption-only | unusable | no-device | unreadable.
        var name: String {
            switch self {
            case .page(let verdict): verdict.rawValue
            case .noDevice: "no-device"
            case .unreadable: "unreadable"
            }
        }
    }

    enum Point {
        case counter(UInt64)
        case bracket(CounterBracket)
    }

    mutating func judge(_ page: VMClockPage, taiPolicy: TAIOffsetPolicy, at point: Point) {
        self.page = PageFields(page)
        let assessment = PageAssessment(page: page, nativeCounter: Counter.native, taiPolicy: taiPolicy)
        verdict = .page(assessment.verdict)
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
        verdict = .page(.unusable)
        reason = "the page's time at this counter reading is outside 1970…2^62 s"
        evaluation = nil
    }

    mutating func fail(_ error: DeviceError) {
        switch error {
        case .absent: verdict = .noDevice
        default: verdict = .unreadable
        }
        reason = error.description
    }

    mutating func fail(_ error: SnapshotError) {
        if case .device(let deviceError) = error { return fail(deviceError) }
        verdict = .page(.unusable)
        reason = error.description
    }

    var exitStatus: StatusExit {
        switch verdict {
        case .page(.usable), .page(.disruptionOnly): .ok
        case .noDevice: .noDevice
        case .unreadable: .unreadable
        case .page(.unusable): .pageUnusable
        }
    }

}

/// The time the page gives at one counter reading.
struct Evaluation {
    var counter: UInt64
    var timeType: String
    var taiOffsetConvention: String?
    var utcSeconds: Int64?
    var utcNanoseconds: Int64?
    var maxErrorNs: UInt64?
    var estErrorNs: UInt64?
    var system: SystemFields?

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


}

/// The comparison with CLOCK_REALTIME (absent with --at-counter).
struct SystemFields {
    var realtimeSeconds: Int64
    var realtimeNanoseconds: Int64
    /// vmclock UTC − system time.
    var offsetNs: Int64
    var readUncertaintyNs: UInt64
    /// Page max error + read uncertainty: what the offset is good to.
    var offsetMaxErrorNs: UInt64?

    init(_ comparison: SystemComparison) {
        realtimeSeconds = comparison.system.seconds
        realtimeNanoseconds = comparison.system.nanoseconds
        offsetNs = Int64(clamping: comparison.offsetNanoseconds)
        readUncertaintyNs = comparison.readUncertaintyNanoseconds
        offsetMaxErrorNs = comparison.offsetMaxErrorNanoseconds
    }


}

// The JSON schema (README, "status --json"): every key present, null when absent.
extension StatusReport {
    var json: JSONValue {
        .object([
            "schema": .from(schema), "device": .string(device), "read_method": .from(readMethod),
            "verdict": .string(verdict.name), "reason": .from(reason),
            "page": page?.json ?? .null, "evaluation": evaluation?.json ?? .null,
            "daemon": daemon?.json ?? .null,
        ])
    }
}

extension Evaluation {
    var json: JSONValue {
        .object([
            "counter": .exact(counter), "time_type": .string(timeType),
            "tai_offset_convention": .from(taiOffsetConvention),
            "utc_seconds": .from(utcSeconds), "utc_nanoseconds": .from(utcNanoseconds),
            "max_error_ns": .from(maxErrorNs), "est_error_ns": .from(estErrorNs),
            "system": system?.json ?? .null,
        ])
    }
}

extension SystemFields {
    var json: JSONValue {
        .object([
            "realtime_seconds": .from(realtimeSeconds), "realtime_nanoseconds": .from(realtimeNanoseconds),
            "offset_ns": .from(offsetNs), "read_uncertainty_ns": .from(readUncertaintyNs),
            "offset_max_error_ns": .from(offsetMaxErrorNs),
        ])
    }
}
