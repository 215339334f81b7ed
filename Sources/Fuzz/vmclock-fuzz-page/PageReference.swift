import BigInt
import FuzzSupport
import PageReference

/// An exact, independent model of the page: its own little-endian reads at
/// offsets written down from the ABI table (linux/vmclock-abi.h), NOT taken
/// from `PageLayout`; its own statement of the validation rules; and the
/// time and bound math over arbitrary-precision integers (BigInt), where the
/// code under test uses UInt128 with shifts and masks. Nothing here calls
/// VMClockPage.
struct ReferencePage {
    let bytes: UnsafeRawBufferPointer
    private(set) var size: Int

    /// nil where the code must refuse the page outright (no disruption signalling either).
    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 32 else { return nil }
        self.bytes = bytes
        size = 32
        guard field(0, 4) == 0x4b4c_4356, field(8, 2) == 1 else { return nil }
        let declared = Int(field(4, 4)!)
        guard declared >= 32, declared <= bytes.count else { return nil }
        size = declared
    }

    /// The `width`-byte field at `offset`, little-endian; nil past `size`.
    func field(_ offset: Int, _ width: Int) -> UInt64? {
        guard offset + width <= size else { return nil }
        var value: UInt64 = 0
        for i in stride(from: width - 1, through: 0, by: -1) { value = value << 8 | UInt64(bytes[offset + i]) }
        return value
    }

    var counterID: UInt64 { field(10, 1)! }
    var timeType: UInt64 { field(11, 1)! }
    var seqCount: UInt64 { field(12, 4)! }
    var marker: UInt64 { field(16, 8)! }
    var flags: UInt64 { field(24, 8)! }
    func flag(_ bit: Int) -> Bool { flags >> UInt64(bit) & 1 == 1 }
}

/// What a page is good for, by the rules as documented (README, ClockData):
/// the reference's own verdict and the clock data it implies.
struct ReferenceClock {
    var shift: Int
    var counterValue: UInt64
    var period: UInt64
    var timeSec: UInt64
    var timeFrac: UInt64
    var adjustment: Int64
    var timeMax: UInt64?, timeEst: UInt64?, rateMax: UInt64?, rateEst: UInt64?
    var status: UInt64
    var leap: UInt64
}

enum ReferenceVerdict: Equatable { case usable, disruptionOnly, unusable }

/// `native`: 0 arm64, 1 x86, nil none. `policy`: 0 automatic, 1 UTC − TAI only, 2 TAI − UTC only.
func referenceAssessment(_ p: ReferencePage, native: UInt64?, policy: Int) -> (ReferenceVerdict, ReferenceClock?) {
    let id = p.counterID
    guard id == 0 || id == 1 || id == 0xff else { return (.unusable, nil) }
    if id == 0xff { return (.disruptionOnly, nil) }
    guard p.size >= 88 else { return (.disruptionOnly, nil) }  // clock fields end with time_frac_sec at 80 + 8
    guard id == native else { return (.unusable, nil) }
    let type = p.timeType
    guard type == 0 || type == 1 else { return (.unusable, nil) }
    let status = p.field(34, 1)!, leap = p.field(38, 1)!, shift = p.field(39, 1)!
    guard status <= 4, leap <= 5, shift < 64 else { return (.unusable, nil) }
    let period = p.field(48, 8)!, timeSec = p.field(72, 8)!
    guard period != 0, timeSec <= 1 << 62 else { return (.unusable, nil) }
    var adjustment: Int64 = 0
    if type == 1 {
        guard p.flag(0) else { return (.unusable, nil) }
        let raw = Int64(Int16(truncatingIfNeeded: p.field(36, 2)!))
        guard (10...100).contains(abs(raw)) else { return (.unusable, nil) }
        // Negative: the ABI's UTC − TAI; positive: the other sign, TAI − UTC.
        if raw < 0 && policy == 2 || raw > 0 && policy == 1 { return (.unusable, nil) }
        adjustment = raw < 0 ? raw : -raw
    }
    let timeMax = p.flag(6) ? p.field(96, 8) : nil
    let timeEst = p.flag(5) ? p.field(88, 8) : nil
    let rateMax = p.flag(4) ? p.field(64, 8) : nil
    let rateEst = p.flag(3) ? p.field(56, 8) : nil
    let day: UInt64 = 86_400 * 1_000_000_000
    if let timeMax, timeMax > day { return (.unusable, nil) }
    if let timeEst, timeEst > day { return (.unusable, nil) }
    if let rateMax, rateMax >= period { return (.unusable, nil) }
    if let rateEst, rateEst >= period { return (.unusable, nil) }
    if let timeMax, let timeEst, timeEst > timeMax { return (.unusable, nil) }
    let clock = ReferenceClock(
        shift: Int(shift), counterValue: p.field(40, 8)!, period: period, timeSec: timeSec, timeFrac: p.field(80, 8)!,
        adjustment: adjustment, timeMax: timeMax, timeEst: timeEst, rateMax: rateMax, rateEst: rateEst,
        status: status, leap: leap)
    return (status == 2 || status == 3 ? .usable : .unusable, clock)
}

extension ReferenceClock {
    /// The shared exact model (PageReference) of this clock's terms.
    var exact: ExactClock {
        ExactClock(shift: shift, counterValue: counterValue, period: period, timeSec: timeSec, timeFrac: timeFrac)
    }

    var denominator: BigInt { exact.denominator }

    func timeNumerator(atCounter counter: UInt64) -> BigInt { exact.timeNumerator(atCounter: counter) }

    /// The exact time floored to 2^-64 s, in the page's timescale, as 2^-64 s units; nil outside 0…2^62 s.
    func pageUnits(atCounter counter: UInt64) -> BigInt? { exact.pageUnits(atCounter: counter) }

    /// UTC in 2^-64 s units; nil outside the page range or before the epoch.
    func utcUnits(atCounter counter: UInt64) -> BigInt? {
        guard let units = pageUnits(atCounter: counter) else { return nil }
        let utc = units + BigInt(adjustment) << 64
        return utc >= 0 ? utc : nil
    }

    /// The max-error rate the documentation promises: never below 1 ppm of the period, rounded up.
    var flooredRateMax: BigInt? { rateMax.map { exact.flooredRate($0) } }
}
