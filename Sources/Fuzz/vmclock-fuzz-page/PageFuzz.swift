import BigInt
import FuzzSupport
import PageReference
import VMClockPage

/// Fuzz target: bytes → the page decoder, the daemon's verdict on the page
/// (`PageAssessment`), and where that gives clock data, the time and
/// error-bound math at counter readings taken from the input, each checked
/// against the exact reference (`PageReference.swift`, over the shared PageReference target).
///
/// Input: a 40-byte header, then the page bytes (everything readable).
///   [0]      options: bits 0–1 native counter (0 x86 TSC, 1 arm64, 2 none,
///            3 x86 TSC), bits 2–3 TAI policy (0 and 3 auto, 1 utc-minus-tai,
///            2 tai-minus-utc), bit 4: the page is read from a full 4096-byte
///            mapping (the bytes zero-padded), as from /dev/vmclock0
///   [1]      shift (low 6 bits) applied to both signed deltas below
///   [2]      shift (low 6 bits) applied to the bracket's window
///   [3]      system clock minus the page's UTC, whole seconds (Int8)
///   [4..8)   the system clock's nanoseconds (mod 10^9)
///   [8..16)  counter reading A, absolute
///   [16..24) counter reading B − counter_value (Int64, shifted right)
///   [24..32) bracket start − counter_value (Int64, shifted right)
///   [32..40) bracket window in ticks (shifted right)
/// Missing header bytes are zero.
enum PageFuzz {
    static let headerLength = 40

    static func check(_ input: UnsafeRawBufferPointer) {
        let header = InputReader(input)
        let options = header.byte(0)
        let native: CounterID? = [CounterID.x86TSC, .arm64VirtualCounter, nil, .x86TSC][Int(options & 3)]
        let policy = [0, 1, 2, 0][Int(options >> 2 & 3)]
        let taiPolicy: TAIOffsetPolicy = [.automatic, .utcMinusTAI, .taiMinusUTC][policy]
        let pageBytes = header.rest(from: headerLength)
        if options & 0x10 != 0, pageBytes.count < 4096 {
            var mapped = [UInt8](repeating: 0, count: 4096)
            mapped.withUnsafeMutableBytes { $0.copyMemory(from: pageBytes) }
            mapped.withUnsafeBytes { checkPage($0, header, native, policy, taiPolicy) }
        } else {
            checkPage(pageBytes, header, native, policy, taiPolicy)
        }
    }

    static func checkPage(
        _ bytes: UnsafeRawBufferPointer, _ header: InputReader, _ native: CounterID?, _ policy: Int, _ taiPolicy: TAIOffsetPolicy
    ) {
        let reference = ReferencePage(bytes)
        let page: VMClockPage
        do {
            page = try VMClockPage(bytes: bytes)
        } catch {
            if reference != nil { fuzzFailure("a structurally valid page refused: \(error)") }
            _ = PageAssessment(pageError: error).reason
            return
        }
        guard let reference else { fuzzFailure("a structurally invalid page decoded: \(page)") }
        checkFields(page, reference)

        let assessment = PageAssessment(page: page, nativeCounter: native, taiPolicy: taiPolicy)
        _ = assessment.reason  // every description must be printable
        let (verdict, clock) = referenceAssessment(reference, native: native.map { UInt64($0.rawValue) }, policy: policy)
        let actual: ReferenceVerdict = switch assessment.verdict {
        case .usable: .usable
        case .disruptionOnly: .disruptionOnly
        case .unusable: .unusable
        }
        guard actual == verdict else {
            fuzzFailure("verdict \(assessment.verdict) (\(assessment.reason ?? "-")), the reference says \(verdict)")
        }
        guard let data = assessment.clockData else {
            if clock != nil { fuzzFailure("no clock data (\(assessment.reason ?? "-")), the reference has some") }
            return
        }
        guard let clock else { fuzzFailure("clock data \(data), the reference has none") }
        checkClockData(data, clock)

        let shiftDeltas = UInt64(header.byte(1) & 63)
        let delta = Int64(bitPattern: header.uint64(16)) >> shiftDeltas
        let counters = [header.uint64(8), clock.counterValue &+ UInt64(bitPattern: delta), clock.counterValue]
        for counter in counters { checkTime(data, clock, counter) }

        let before = clock.counterValue &+ UInt64(bitPattern: Int64(bitPattern: header.uint64(24)) >> shiftDeltas)
        let after = before &+ (header.uint64(32) >> UInt64(header.byte(2) & 63))
        checkComparison(data, clock, before: before, after: after,
                        systemOffset: Int64(Int8(bitPattern: header.byte(3))), systemNanoseconds: Int64(header.uint32(4) % 1_000_000_000))
    }

    static func checkFields(_ page: VMClockPage, _ r: ReferencePage) {
        func same<T: FixedWidthInteger>(_ value: T?, _ offset: Int, _ width: Int, _ name: String) {
            let expected = r.field(offset, width)
            let got = value.map { UInt64(truncatingIfNeeded: $0) & (width == 8 ? .max : (1 << UInt64(8 * width)) - 1) }
            if got != expected { fuzzFailure("\(name) decoded as \(String(describing: value)), the reference reads \(String(describing: expected))") }
        }
        same(page.size, 4, 4, "size")
        same(page.version, 8, 2, "version")
        same(page.counterID, 10, 1, "counter_id")
        same(page.timeType, 11, 1, "time_type")
        same(page.seqCount, 12, 4, "seq_count")
        same(page.disruptionMarker, 16, 8, "disruption_marker")
        same(page.flags.rawValue, 24, 8, "flags")
        same(page.clockStatus, 34, 1, "clock_status")
        same(page.leapSecondSmearingHint, 35, 1, "leap_second_smearing_hint")
        same(page.taiOffsetSec, 36, 2, "tai_offset_sec")
        same(page.leapIndicator, 38, 1, "leap_indicator")
        same(page.counterPeriodShift, 39, 1, "counter_period_shift")
        same(page.counterValue, 40, 8, "counter_value")
        same(page.counterPeriodFracSec, 48, 8, "counter_period_frac_sec")
        same(page.counterPeriodEsterrorRateFracSec, 56, 8, "counter_period_esterror_rate_frac_sec")
        same(page.counterPeriodMaxerrorRateFracSec, 64, 8, "counter_period_maxerror_rate_frac_sec")
        same(page.timeSec, 72, 8, "time_sec")
        same(page.timeFracSec, 80, 8, "time_frac_sec")
        same(page.timeEsterrorNanosec, 88, 8, "time_esterror_nanosec")
        same(page.timeMaxerrorNanosec, 96, 8, "time_maxerror_nanosec")
        same(page.vmGenerationCounter, 104, 8, "vm_generation_counter")
        if page.hasClockData != (r.counterID != 0xff && r.size >= 88) { fuzzFailure("hasClockData is \(page.hasClockData)") }
    }

    static func checkClockData(_ d: ClockData, _ c: ReferenceClock) {
        let same = Int(d.counterPeriodShift) == c.shift && d.counterValue == c.counterValue
            && d.counterPeriodFracSec == c.period && d.timeSec == c.timeSec && d.timeFracSec == c.timeFrac
            && d.utcAdjustmentSeconds == c.adjustment && d.timeMaxerrorNanosec == c.timeMax
            && d.timeEsterrorNanosec == c.timeEst && d.periodMaxerrorRate == c.rateMax
            && d.periodEsterrorRate == c.rateEst && UInt64(d.clockStatus.rawValue) == c.status
            && UInt64(d.leapIndicator.rawValue) == c.leap
        if !same { fuzzFailure("clock data \(d), the reference \(c)") }
    }

    static func timestamp(_ units: BigInt?) -> Timestamp? {
        units.map { Timestamp(seconds: Int64($0 >> 64), fraction: UInt64($0 & (Exact.two64 - 1))) }
    }

    /// Time: the exact floor in 2^-64 s (documented: "the exact floor of the
    /// true value in 2^-64 s in both directions"). Bounds: the exact value
    /// rounded up to the next ns (by less than 1 ns), saturating at
    /// UInt64.max; never below the exact bound.
    static func checkTime(_ d: ClockData, _ c: ReferenceClock, _ counter: UInt64) {
        let exactUnits = c.pageUnits(atCounter: counter)
        if let units = exactUnits {
            // The floor itself, without the reference's division: units·2^shift ≤ N < (units+1)·2^shift.
            let n = c.timeNumerator(atCounter: counter)
            if !(units << c.shift <= n && n < (units + 1) << c.shift) { fuzzFailure("reference floor wrong at \(counter)") }
        }
        let pageTime = d.pageTime(atCounter: counter)
        if pageTime != timestamp(exactUnits) {
            fuzzFailure("pageTime at \(counter) is \(String(describing: pageTime)), exact \(String(describing: timestamp(exactUnits))) (\(c))")
        }
        let utc = d.utc(atCounter: counter)
        if utc != timestamp(c.utcUnits(atCounter: counter)) {
            fuzzFailure("utc at \(counter) is \(String(describing: utc)), exact \(String(describing: timestamp(c.utcUnits(atCounter: counter))))")
        }
        if let utc {
            let ns = Exact.floorDiv(BigInt(utc.fraction) * Exact.billion, Exact.two64)
            if BigInt(utc.nanoseconds) != ns { fuzzFailure("nanoseconds of \(utc) is \(utc.nanoseconds), exact \(ns)") }
            _ = utc.description
        }
        checkBound(d.maxErrorNanoseconds(atCounter: counter), c, time: c.timeMax, rate: c.flooredRateMax, counter: counter, "max")
        checkBound(d.estErrorNanoseconds(atCounter: counter), c, time: c.timeEst, rate: c.rateEst.map { BigInt($0) }, counter: counter, "est")
    }

    static func checkBound(_ bound: UInt64?, _ c: ReferenceClock, time: UInt64?, rate: BigInt?, counter: UInt64, _ name: String) {
        guard let time, let rate else {
            if let bound { fuzzFailure("\(name) bound \(bound) at \(counter) without both valid flags") }
            return
        }
        guard let bound else { fuzzFailure("no \(name) bound at \(counter) with both valid flags") }
        checkRoundedUp(bound, c.exact.boundNumerator(time: time, rate: rate, counter: counter), c.denominator, "\(name) bound at \(counter) (\(c))")
    }

    /// `value` is ceil(numerator / denominator), or UInt64.max where that does not fit.
    static func checkRoundedUp(_ value: UInt64, _ numerator: BigInt, _ denominator: BigInt, _ what: @autoclosure () -> String) {
        let v = BigInt(value)
        if value == .max {
            if v * denominator < numerator { return }  // saturated
        }
        // Never below the exact value; above it by less than 1 ns.
        if v * denominator < numerator { fuzzFailure("\(what()): \(value) ns is below the exact bound") }
        if (v - 1) * denominator >= numerator, !(value == 0 && numerator == 0) {
            fuzzFailure("\(what()): \(value) ns is 1 ns or more above the exact bound (\(Exact.ceilDiv(numerator, denominator)))")
        }
    }

    static func checkComparison(
        _ d: ClockData, _ c: ReferenceClock, before: UInt64, after: UInt64, systemOffset: Int64, systemNanoseconds: Int64
    ) {
        let probe = CounterBracket(counterBefore: before, counterAfter: after, system: Timestamp(seconds: 0, fraction: 0))
        guard after >= before else {
            if d.compare(with: probe) != nil { fuzzFailure("an inverted bracket compared") }
            return
        }
        let midpoint = before + (after - before) / 2
        guard let utcUnits = c.utcUnits(atCounter: midpoint) else {
            if d.compare(with: probe) != nil { fuzzFailure("a comparison where the page gives no UTC at \(midpoint)") }
            return
        }
        let systemSeconds = max(0, Int64(utcUnits >> 64) + systemOffset)
        let system = Timestamp(seconds: systemSeconds, nanoseconds: systemNanoseconds)
        let bracket = CounterBracket(counterBefore: before, counterAfter: after, system: system)
        guard let comparison = d.compare(with: bracket) else { fuzzFailure("no comparison at \(midpoint)") }
        if comparison.counter != midpoint { fuzzFailure("compared at \(comparison.counter), midpoint \(midpoint)") }
        if comparison.utc != timestamp(utcUnits) { fuzzFailure("compared UTC \(comparison.utc)") }
        // Offset: floor of (UTC − system) in ns, the system time being whole ns.
        let systemNs = BigInt(systemSeconds) * Exact.billion + BigInt(systemNanoseconds)
        let offset = Exact.floorDiv(utcUnits * Exact.billion, Exact.two64) - systemNs
        if BigInt(comparison.offsetNanoseconds) != offset { fuzzFailure("offset \(comparison.offsetNanoseconds) ns, exact floor \(offset)") }
        // And within the documented rounding of the exact (unfloored) time:
        // at most 1 ns + 2^-64 s below it, never above.
        let exact = (c.timeNumerator(atCounter: midpoint) + BigInt(c.adjustment) * (BigInt(1) << (64 + c.shift))) * Exact.billion
            - systemNs * c.denominator
        let o = BigInt(comparison.offsetNanoseconds)
        if o * c.denominator > exact || exact >= (o + 1) * c.denominator + Exact.billion << c.shift {
            fuzzFailure("offset \(o) ns is not within the documented rounding of the exact offset")
        }
        checkReadBound(comparison, c, before: before, after: after, utcUnits: utcUnits)
        if comparison.pageMaxErrorNanoseconds != d.maxErrorNanoseconds(atCounter: midpoint)
            || comparison.pageEstErrorNanoseconds != d.estErrorNanoseconds(atCounter: midpoint) {
            fuzzFailure("the comparison's page bounds differ from the page's at the midpoint")
        }
        if let page = comparison.pageMaxErrorNanoseconds {
            let total = BigInt(page) + BigInt(comparison.readUncertaintyNanoseconds)
            let expected: UInt64 = total > BigInt(UInt64.max) ? .max : UInt64(total)
            if comparison.offsetMaxErrorNanoseconds != expected { fuzzFailure("offset max error \(String(describing: comparison.offsetMaxErrorNanoseconds)), expected \(expected)") }
        } else if comparison.offsetMaxErrorNanoseconds != nil {
            fuzzFailure("an offset max error without a page bound")
        }
        _ = comparison.utc.seconds(since: comparison.system)
    }

    /// The read's bound against the worst true time the page allows at the
    /// system read, found at the extremes, not by the code's formula: the
    /// counter truly anywhere in [before, after + 1] (a reading c is a
    /// counter in [c, c+1)); with a max error, the true clock anywhere it
    /// admits: page(x) ± time_maxerror ± (x − counter_value) · rate. The
    /// bound must cover it, and past counter_value (where the worst is the
    /// bound's own sum) exceed it by the roundings only (under 4 ns).
    static func checkReadBound(_ comparison: SystemComparison, _ c: ReferenceClock, before: UInt64, after: UInt64, utcUnits: BigInt) {
        let (bound, timeError, rate): (UInt64, UInt64, BigInt)
        if let total = comparison.offsetMaxErrorNanoseconds, let timeMax = c.timeMax, let rateMax = c.flooredRateMax {
            (bound, timeError, rate) = (total, timeMax, rateMax)
        } else {
            (bound, timeError, rate) = (comparison.readUncertaintyNanoseconds, 0, 0)  // the read alone
        }
        let worst = c.exact.worstReadError(
            before: before, after: after, reportedUnits: utcUnits - BigInt(c.adjustment) << 64, timeError: timeError, rate: rate)
        guard bound < .max else { return }  // saturated: "unbounded", whatever the worst
        if BigInt(bound) * c.denominator < worst { fuzzFailure("read bound \(bound) ns below the worst case \(worst / c.denominator) ns") }
        let midpoint = before + (after - before) / 2
        if rate > 0, midpoint >= c.counterValue, BigInt(bound) * c.denominator >= worst + 4 * c.denominator {
            fuzzFailure("read bound \(bound) ns more than 4 ns above the worst case \(worst / c.denominator) ns")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func pageFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    PageFuzz.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@main enum PageFuzzMain {
    static func main() { FuzzMain.run(pageFuzzTestOneInput) }
}
