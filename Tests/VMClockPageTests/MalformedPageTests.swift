import Testing
import VMClockPage

struct Hostile: Sendable, CustomTestStringConvertible {
    enum Expected: Sendable {
        case page(PageError)
        case clock(ClockDataError, PageVerdict)
    }
    let name: String
    let bytes: [UInt8]
    var native: CounterID? = .x86TSC
    var policy: TAIOffsetPolicy = .automatic
    let expected: Expected
    /// The ABI field the reason must name.
    let field: String
    var testDescription: String { name }
}

/// A valid synchronized UTC page with all error bounds valid, then `change`d.
private func page(_ change: (inout PageSpec) -> Void) -> [UInt8] {
    var s = PageSpec()
    s.flags = PageSpec.allErrorsValid
    s.periodMaxerrorRate = 1000
    s.periodEsterrorRate = 100
    s.timeMaxerrorNs = 5000
    s.timeEsterrorNs = 500
    change(&s)
    return s.bytes()
}

private func clock(
    _ name: String, _ error: ClockDataError, field: String, verdict: PageVerdict = .unusable,
    native: CounterID? = .x86TSC, _ change: (inout PageSpec) -> Void
) -> Hostile {
    Hostile(name: name, bytes: page(change), native: native, expected: .clock(error, verdict), field: field)
}

private func structural(_ name: String, _ error: PageError, field: String, _ bytes: [UInt8]) -> Hostile {
    Hostile(name: name, bytes: bytes, expected: .page(error), field: field)
}

let hostilePages: [Hostile] = [
    structural("bad magic", .badMagic(0x4b4c_4357), field: "magic", page { $0.magic = 0x4b4c_4357 }),
    structural("big-endian magic", .badMagic(0x5643_4c4b), field: "magic", page { $0.magic = 0x5643_4c4b }),
    structural("version 0", .unsupportedVersion(0), field: "version", page { $0.version = 0 }),
    structural("version 2", .unsupportedVersion(2), field: "version", page { $0.version = 2 }),
    structural("size 0", .sizeBelowMinimum(0), field: "size", page { $0.size = 0 }),
    structural("size 31", .sizeBelowMinimum(31), field: "size", page { $0.size = 31 }),
    structural("size 4097", .sizeBeyondMapping(size: 4097, mapped: 4096), field: "size", page { $0.size = 4097 }),
    structural("size 0xFFFFFFFF", .sizeBeyondMapping(size: .max, mapped: 4096), field: "size",
               page { $0.size = .max }),
    structural("size 112 but only 100 bytes readable", .sizeBeyondMapping(size: 112, mapped: 100), field: "size",
               page { $0.bufferLength = 100 }),
    structural("all-zero page", .badMagic(0), field: "magic", [UInt8](repeating: 0, count: 4096)),
    structural("all-ones page", .badMagic(.max), field: "magic", [UInt8](repeating: 0xff, count: 4096)),
    clock("counter_id 2", .unknownCounterID(2), field: "counter_id") { $0.counterID = 2 },
    clock("counter_id 0x80", .unknownCounterID(0x80), field: "counter_id") { $0.counterID = 0x80 },
    clock("x86 page on arm64", .foreignCounter(page: .x86TSC, native: .arm64VirtualCounter),
          field: "counter_id", native: .arm64VirtualCounter) { $0.counterID = 1 },
    clock("arm64 page on x86", .foreignCounter(page: .arm64VirtualCounter, native: .x86TSC),
          field: "counter_id") { $0.counterID = 0 },
    clock("x86 page, no native counter", .foreignCounter(page: .x86TSC, native: nil),
          field: "counter_id", native: nil) { $0.counterID = 1 },
    clock("time_type 2", .monotonicTimeType, field: "time_type") { $0.timeType = 2 },
    clock("time_type 3", .smearedTimeType(.smeared), field: "time_type") { $0.timeType = 3 },
    clock("time_type 4", .smearedTimeType(.maybeSmeared), field: "time_type") { $0.timeType = 4 },
    clock("time_type 5", .unknownTimeType(5), field: "time_type") { $0.timeType = 5 },
    clock("TAI without tai_offset_valid", .taiOffsetNotValid, field: "tai_offset_valid") {
        $0.timeType = 1
        $0.taiOffsetSec = -37
    },
    clock("TAI offset 0", .implausibleTAIOffset(0, .automatic), field: "tai_offset_sec") {
        $0.timeType = 1
        $0.flags |= PageSpec.taiOffsetValid
        $0.taiOffsetSec = 0
    },
    clock("TAI offset 5", .implausibleTAIOffset(5, .automatic), field: "tai_offset_sec") {
        $0.timeType = 1
        $0.flags |= PageSpec.taiOffsetValid
        $0.taiOffsetSec = 5
    },
    clock("TAI offset 1000", .implausibleTAIOffset(1000, .automatic), field: "tai_offset_sec") {
        $0.timeType = 1
        $0.flags |= PageSpec.taiOffsetValid
        $0.taiOffsetSec = 1000
    },
    clock("TAI offset Int16.min", .implausibleTAIOffset(.min, .automatic), field: "tai_offset_sec") {
        $0.timeType = 1
        $0.flags |= PageSpec.taiOffsetValid
        $0.taiOffsetSec = .min
    },
    clock("clock_status 5", .unknownClockStatus(5), field: "clock_status") { $0.clockStatus = 5 },
    clock("leap_indicator 6", .unknownLeapIndicator(6), field: "leap_indicator") { $0.leapIndicator = 6 },
    clock("shift 64", .shiftTooLarge(64), field: "counter_period_shift") { $0.shift = 64 },
    clock("shift 255", .shiftTooLarge(255), field: "counter_period_shift") { $0.shift = 255 },
    clock("zero period", .zeroPeriod, field: "counter_period_frac_sec") { $0.period = 0 },
    clock("time_sec 2^63", .timeSecondsOutOfRange(1 << 63), field: "time_sec") { $0.timeSec = 1 << 63 },
    clock("time_sec 2^62 + 1", .timeSecondsOutOfRange((1 << 62) + 1), field: "time_sec") {
        $0.timeSec = (1 << 62) + 1
    },
    clock("time_maxerror UInt64.max", .absurdTimeError(field: "time_maxerror_nanosec", nanoseconds: .max),
          field: "time_maxerror_nanosec") { $0.timeMaxerrorNs = .max },
    clock("time_esterror one day + 1 ns",
          .absurdTimeError(field: "time_esterror_nanosec", nanoseconds: 86_400_000_000_001),
          field: "time_esterror_nanosec") {
        $0.timeEsterrorNs = 86_400_000_000_001
        $0.timeMaxerrorNs = 86_400_000_000_001
        $0.flags &= ~PageSpec.timeMaxerrorValid
    },
    clock("period maxerror rate = period",
          .absurdPeriodError(field: "counter_period_maxerror_rate_frac_sec", rate: 1 << 32, period: 1 << 32),
          field: "counter_period_maxerror_rate_frac_sec") { $0.periodMaxerrorRate = 1 << 32 },
    clock("period esterror rate > period",
          .absurdPeriodError(field: "counter_period_esterror_rate_frac_sec", rate: .max, period: 1 << 32),
          field: "counter_period_esterror_rate_frac_sec") { $0.periodEsterrorRate = .max },
    clock("esterror > maxerror", .estimateAboveMaximum(estimate: 5001, maximum: 5000),
          field: "time_esterror_nanosec") { $0.timeEsterrorNs = 5001 },
    clock("counter_id 0xff", .noClockData, field: "counter_id", verdict: .disruptionOnly) { $0.counterID = 0xff },
    clock("QEMU-style: counter_id 0xff, size 32, status 0", .noClockData, field: "counter_id",
          verdict: .disruptionOnly) {
        $0.counterID = 0xff
        $0.size = 32
        $0.clockStatus = 0
    },
    clock("size 80", .clockFieldsAbsent(size: 80), field: "size", verdict: .disruptionOnly) { $0.size = 80 },
    clock("size 87", .clockFieldsAbsent(size: 87), field: "size", verdict: .disruptionOnly) { $0.size = 87 },
]

@Suite struct MalformedPageTests {
    @Test(arguments: hostilePages)
    func rejectedWithTheSpecificError(_ h: Hostile) {
        let decoded: Result<VMClockPage, PageError> = Result { () throws(PageError) in try decodePage(h.bytes) }
        switch (h.expected, decoded) {
        case (.page(let expected), .failure(let error)):
            #expect(error == expected)
            let assessment = PageAssessment(pageError: error)
            #expect(assessment.verdict == .unusable)
            #expect(assessment.clockData == nil)
            #expect(assessment.reason?.contains(h.field) == true, "reason: \(assessment.reason ?? "nil")")
        case (.clock(let expected, let verdict), .success(let page)):
            do throws(ClockDataError) {
                let data = try page.clockData(nativeCounter: h.native, taiPolicy: h.policy)
                Issue.record("produced clock data; UTC at counter_value: \(String(describing: data.utc(atCounter: data.counterValue)))")
            } catch {
                #expect(error == expected)
                #expect(error.isDisruptionOnly == (verdict == .disruptionOnly))
            }
            let assessment = PageAssessment(page: page, nativeCounter: h.native, taiPolicy: h.policy)
            #expect(assessment.verdict == verdict)
            #expect(assessment.clockData == nil, "no time from a hostile page")
            #expect(assessment.reason?.contains(h.field) == true, "reason: \(assessment.reason ?? "nil")")
        default:
            Issue.record("expected \(h.expected), decoded \(decoded)")
        }
    }

    @Test func bufferShorterThanTheMinimumIsRejected() {
        #expect(throws: PageError.self) { try decodePage(Array(PageSpec().bytes()[0..<16])) }
    }

    @Test func boundaryValuesAreAccepted() throws {
        var s = PageSpec()
        s.flags = PageSpec.allErrorsValid
        s.timeMaxerrorNs = 86_400_000_000_000  // exactly one day
        s.timeEsterrorNs = 86_400_000_000_000  // equal to the maximum
        s.timeSec = 1 << 62
        s.shift = 63
        s.period = 2
        s.periodMaxerrorRate = 1  // period − 1
        s.periodEsterrorRate = 1
        s.clockStatus = 4
        s.leapIndicator = 5
        #expect(try clockDataError(s) == nil)
    }

    @Test(arguments: [0, 1, 4] as [UInt8])
    func statusWithoutVouchingIsUnusable(status: UInt8) throws {
        var s = PageSpec()
        s.clockStatus = status
        let assessment = PageAssessment(page: try s.decode(), nativeCounter: .x86TSC)
        #expect(assessment.verdict == .unusable)
        #expect(assessment.reason?.contains("clock_status") == true)
    }

    @Test(arguments: [2, 3] as [UInt8])
    func synchronizedOrFreerunningIsUsable(status: UInt8) throws {
        var s = PageSpec()
        s.clockStatus = status
        let assessment = PageAssessment(page: try s.decode(), nativeCounter: .x86TSC)
        #expect(assessment.verdict == .usable)
        #expect(assessment.reason == nil)
        #expect(assessment.clockData?.utc(atCounter: s.counterValue) == Timestamp(seconds: 1_700_000_000, fraction: 0))
    }
}
