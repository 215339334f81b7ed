import VMClockPage

/// An independent writer of vmclock pages for tests. Offsets and widths are
/// hard-coded from the ABI table (/work/shared/reference/vmclock.md, checked
/// against linux/vmclock-abi.h), deliberately NOT taken from `PageLayout`.
/// Every field is written byte by byte, little-endian, whatever `size` says,
/// so bytes past `size` hold plausible-looking non-zero data that a correct
/// decoder must ignore.
struct PageSpec: Sendable {
    var magic: UInt32 = 0x4b4c_4356  // "VCLK"
    var size: UInt32 = 112
    var version: UInt16 = 1
    var counterID: UInt8 = 1  // x86 TSC
    var timeType: UInt8 = 0  // UTC
    var seqCount: UInt32 = 42
    var disruptionMarker: UInt64 = 0x0123_4567_89ab_cdef
    var flags: UInt64 = 0
    var clockStatus: UInt8 = 2  // synchronized
    var smearingHint: UInt8 = 0
    var taiOffsetSec: Int16 = 0
    var leapIndicator: UInt8 = 0
    var shift: UInt8 = 0
    var counterValue: UInt64 = 1_000_000
    var period: UInt64 = 1 << 32  // 2^-32 s per tick at shift 0
    var periodEsterrorRate: UInt64 = 0
    var periodMaxerrorRate: UInt64 = 0
    var timeSec: UInt64 = 1_700_000_000
    var timeFrac: UInt64 = 0
    var timeEsterrorNs: UInt64 = 0
    var timeMaxerrorNs: UInt64 = 0
    var vmGenerationCounter: UInt64 = 0x00c0_ffee
    /// Length of the buffer handed to the decoder (what was readable).
    var bufferLength = 4096
    /// Byte for every position no field covers (pad, and beyond 112).
    var filler: UInt8 = 0

    // ABI flag bits (reference: bit0 … bit9).
    static let taiOffsetValid: UInt64 = 1 << 0
    static let periodEsterrorValid: UInt64 = 1 << 3
    static let periodMaxerrorValid: UInt64 = 1 << 4
    static let timeEsterrorValid: UInt64 = 1 << 5
    static let timeMaxerrorValid: UInt64 = 1 << 6
    static let allErrorsValid: UInt64 = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6)

    func bytes() -> [UInt8] {
        var b = [UInt8](repeating: filler, count: bufferLength)
        func put(_ value: UInt64, at offset: Int, width: Int) {
            for i in 0..<width where offset + i < b.count {
                b[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
            }
        }
        put(UInt64(magic), at: 0, width: 4)
        put(UInt64(size), at: 4, width: 4)
        put(UInt64(version), at: 8, width: 2)
        put(UInt64(counterID), at: 10, width: 1)
        put(UInt64(timeType), at: 11, width: 1)
        put(UInt64(seqCount), at: 12, width: 4)
        put(disruptionMarker, at: 16, width: 8)
        put(flags, at: 24, width: 8)
        put(UInt64(clockStatus), at: 34, width: 1)
        put(UInt64(smearingHint), at: 35, width: 1)
        put(UInt64(UInt16(bitPattern: taiOffsetSec)), at: 36, width: 2)
        put(UInt64(leapIndicator), at: 38, width: 1)
        put(UInt64(shift), at: 39, width: 1)
        put(counterValue, at: 40, width: 8)
        put(period, at: 48, width: 8)
        put(periodEsterrorRate, at: 56, width: 8)
        put(periodMaxerrorRate, at: 64, width: 8)
        put(timeSec, at: 72, width: 8)
        put(timeFrac, at: 80, width: 8)
        put(timeEsterrorNs, at: 88, width: 8)
        put(timeMaxerrorNs, at: 96, width: 8)
        put(vmGenerationCounter, at: 104, width: 8)
        return b
    }

    func decode() throws(PageError) -> VMClockPage {
        try decodePage(bytes())
    }

    func clockData(
        native: CounterID? = .x86TSC, policy: TAIOffsetPolicy = .automatic
    ) throws -> ClockData {
        try decode().clockData(nativeCounter: native, taiPolicy: policy)
    }
}

func decodePage(_ bytes: [UInt8]) throws(PageError) -> VMClockPage {
    let result: Result<VMClockPage, PageError> = bytes.withUnsafeBytes { raw in
        do throws(PageError) { return .success(try VMClockPage(bytes: raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// The ClockDataError a spec produces, or nil if it yields clock data.
func clockDataError(_ spec: PageSpec, native: CounterID? = .x86TSC, policy: TAIOffsetPolicy = .automatic)
    throws -> ClockDataError?
{
    let page = try spec.decode()
    do throws(ClockDataError) {
        _ = try page.clockData(nativeCounter: native, taiPolicy: policy)
        return nil
    } catch { return error }
}
