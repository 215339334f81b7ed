import Testing
import VMClockPage

/// A page where every field holds a distinct non-zero value, so a field read
/// from the wrong offset or with the wrong byte order cannot go unnoticed.
private func distinctSpec(size: UInt32) -> PageSpec {
    var s = PageSpec()
    s.size = size
    s.counterID = 1
    s.timeType = 1
    s.seqCount = 0xA1B2_C3D4
    s.disruptionMarker = 0x1122_3344_5566_7788
    s.flags = 0x0000_F000_0000_0301  // tai_offset_valid, vm_gen, notification, unknown bits
    s.clockStatus = 3
    s.smearingHint = 2
    s.taiOffsetSec = -37
    s.leapIndicator = 4
    s.shift = 7
    s.counterValue = 0x0102_0304_0506_0708
    s.period = 0x1112_1314_1516_1718
    s.periodEsterrorRate = 0x2122_2324
    s.periodMaxerrorRate = 0x3132_3334
    s.timeSec = 0x0000_0000_6543_2109
    s.timeFrac = 0x4142_4344_4546_4748
    s.timeEsterrorNs = 0x5152
    s.timeMaxerrorNs = 0x6162
    s.vmGenerationCounter = 0x7172_7374_7576_7778
    s.filler = 0xA5  // garbage in pad and beyond the structure
    return s
}

@Suite struct GoldenPageTests {
    @Test func builderWritesMagicAsASCII() {
        let bytes = PageSpec().bytes()
        #expect(Array(bytes[0..<4]) == Array("VCLK".utf8))
        #expect(Array(bytes[4..<8]) == [112, 0, 0, 0])
        #expect(Array(bytes[8..<10]) == [1, 0])
    }

    @Test(arguments: [112, 4096] as [UInt32])
    func fullPageDecodesEveryField(size: UInt32) throws {
        let page = try distinctSpec(size: size).decode()
        #expect(page.size == size)
        #expect(page.version == 1)
        #expect(page.counterID == 1)
        #expect(page.timeType == 1)
        #expect(page.seqCount == 0xA1B2_C3D4)
        #expect(page.disruptionMarker == 0x1122_3344_5566_7788)
        #expect(page.flags.rawValue == 0x0000_F000_0000_0301)
        #expect(page.flags.names == ["tai_offset_valid", "vm_gen_counter_present", "notification_present"])
        #expect(page.flags.unknownBits == 0x0000_F000_0000_0000)
        #expect(page.clockStatus == 3)
        #expect(page.leapSecondSmearingHint == 2)
        #expect(page.taiOffsetSec == -37)
        #expect(page.leapIndicator == 4)
        #expect(page.counterPeriodShift == 7)
        #expect(page.counterValue == 0x0102_0304_0506_0708)
        #expect(page.counterPeriodFracSec == 0x1112_1314_1516_1718)
        #expect(page.counterPeriodEsterrorRateFracSec == 0x2122_2324)
        #expect(page.counterPeriodMaxerrorRateFracSec == 0x3132_3334)
        #expect(page.timeSec == 0x6543_2109)
        #expect(page.timeFracSec == 0x4142_4344_4546_4748)
        #expect(page.timeEsterrorNanosec == 0x5152)
        #expect(page.timeMaxerrorNanosec == 0x6162)
        #expect(page.vmGenerationCounter == 0x7172_7374_7576_7778)
        #expect(page.hasClockData)
    }

    @Test func size104HasNoGenerationCounter() throws {
        let page = try distinctSpec(size: 104).decode()
        #expect(page.timeMaxerrorNanosec == 0x6162)
        #expect(page.vmGenerationCounter == nil)
        #expect(page.hasClockData)
    }

    @Test func size96HasNoMaxErrorAndItsFlagCannotConjureOne() throws {
        var s = distinctSpec(size: 96)
        s.timeType = 0
        s.flags = PageSpec.allErrorsValid
        let page = try s.decode()
        #expect(page.timeEsterrorNanosec == 0x5152)
        #expect(page.timeMaxerrorNanosec == nil)
        let data = try #require(try? page.clockData(nativeCounter: .x86TSC))
        #expect(data.timeMaxerrorNanosec == nil)
        #expect(data.maxErrorNanoseconds(atCounter: s.counterValue) == nil)
        #expect(data.estErrorNanoseconds(atCounter: s.counterValue) == 0x5152)
    }

    @Test func size32IsDisruptionOnlyDespiteGarbageBeyondSize() throws {
        let s = distinctSpec(size: 32)
        #expect(s.bytes()[34] == 3, "the builder did put a value past size")
        let page = try s.decode()
        #expect(page.disruptionMarker == 0x1122_3344_5566_7788)
        #expect(page.seqCount == 0xA1B2_C3D4)
        #expect(page.clockStatus == nil)
        #expect(page.leapSecondSmearingHint == nil)
        #expect(page.taiOffsetSec == nil)
        #expect(page.leapIndicator == nil)
        #expect(page.counterPeriodShift == nil)
        #expect(page.counterValue == nil)
        #expect(page.counterPeriodFracSec == nil)
        #expect(page.counterPeriodEsterrorRateFracSec == nil)
        #expect(page.counterPeriodMaxerrorRateFracSec == nil)
        #expect(page.timeSec == nil)
        #expect(page.timeFracSec == nil)
        #expect(page.timeEsterrorNanosec == nil)
        #expect(page.timeMaxerrorNanosec == nil)
        #expect(page.vmGenerationCounter == nil)
        #expect(!page.hasClockData)
        #expect(try clockDataError(s) == .clockFieldsAbsent(size: 32))
        let verdict = PageAssessment(page: page, nativeCounter: .x86TSC)
        #expect(verdict.verdict == .disruptionOnly)
        #expect(verdict.clockData == nil)
    }

    @Test func sizeMayEqualTheReadableLength() throws {
        var s = PageSpec()
        s.bufferLength = 112
        #expect(try s.decode().vmGenerationCounter == 0x00c0_ffee)
        s.size = 48  // up to and including counter_value
        s.bufferLength = 48
        let page = try s.decode()
        #expect(page.counterValue == 1_000_000)
        #expect(page.counterPeriodFracSec == nil)
    }

    @Test func utcPageNeedsNoTAIOffset() throws {
        var s = PageSpec()
        s.taiOffsetSec = 999  // ignored: not a TAI page, flag clear
        let data = try s.clockData()
        #expect(data.timeType == .utc)
        #expect(data.utcAdjustmentSeconds == 0)
        #expect(data.taiOffsetConvention == nil)
        #expect(data.utc(atCounter: s.counterValue) == Timestamp(seconds: 1_700_000_000, fraction: 0))
    }

    @Test(arguments: [
        (UInt8(2), ClockDataError.monotonicTimeType),
        (3, .smearedTimeType(.smeared)),
        (4, .smearedTimeType(.maybeSmeared)),
        (5, .unknownTimeType(5)),
    ])
    func timeTypesWithoutUTC(raw: UInt8, expected: ClockDataError) throws {
        var s = PageSpec()
        s.timeType = raw
        #expect(try clockDataError(s) == expected)
        #expect(PageAssessment(page: try s.decode(), nativeCounter: .x86TSC).verdict == .unusable)
    }

    @Test func arm64PageOnArm64() throws {
        var s = PageSpec()
        s.counterID = 0
        let data = try s.clockData(native: .arm64VirtualCounter)
        #expect(data.counterID == .arm64VirtualCounter)
        #expect(data.utc(atCounter: s.counterValue) == Timestamp(seconds: 1_700_000_000, fraction: 0))
    }
}
