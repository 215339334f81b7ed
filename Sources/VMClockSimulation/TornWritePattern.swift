import VMClockPage

/// Self-checking pages for the torn-write test: every field of update n is
/// derived from n, and n is the disruption_marker, so a page mixing two
/// updates is detected by recomputing the rest from the marker.
public enum TornWritePattern {
    public static func image(_ n: UInt64) -> PageImage {
        var image = PageImage()
        image.counterID = UInt8(n & 1)
        image.timeType = UInt8(n % 5)
        image.disruptionMarker = n
        image.flags = n & 0x3ff
        image.clockStatus = UInt8(n % 5)
        image.leapSecondSmearingHint = UInt8(n % 3)
        image.taiOffsetSec = Int16(truncatingIfNeeded: n)
        image.leapIndicator = UInt8(n % 6)
        image.counterPeriodShift = UInt8(n % 64)
        image.counterValue = n &* 0x9e37_79b9_7f4a_7c15
        image.counterPeriodFracSec = n &* 0xbf58_476d_1ce4_e5b9 | 1
        image.counterPeriodEsterrorRateFracSec = n ^ 0x94d0_49bb_1331_11eb
        image.counterPeriodMaxerrorRateFracSec = ~n
        image.timeSec = n &+ 1_700_000_000
        image.timeFracSec = n.byteSwapped
        image.timeEsterrorNanosec = n &* 3
        image.timeMaxerrorNanosec = n &* 7
        image.vmGenerationCounter = n &+ 0x5555
        return image
    }

    /// True when every field matches the update named by the page's marker.
    public static func isConsistent(_ page: VMClockPage) -> Bool {
        let expected = image(page.disruptionMarker)
        return page.counterID == expected.counterID && page.timeType == expected.timeType
            && page.flags.rawValue == expected.flags && page.clockStatus == expected.clockStatus
            && page.leapSecondSmearingHint == expected.leapSecondSmearingHint
            && page.taiOffsetSec == expected.taiOffsetSec && page.leapIndicator == expected.leapIndicator
            && page.counterPeriodShift == expected.counterPeriodShift
            && page.counterValue == expected.counterValue
            && page.counterPeriodFracSec == expected.counterPeriodFracSec
            && page.counterPeriodEsterrorRateFracSec == expected.counterPeriodEsterrorRateFracSec
            && page.counterPeriodMaxerrorRateFracSec == expected.counterPeriodMaxerrorRateFracSec
            && page.timeSec == expected.timeSec && page.timeFracSec == expected.timeFracSec
            && page.timeEsterrorNanosec == expected.timeEsterrorNanosec
            && page.timeMaxerrorNanosec == expected.timeMaxerrorNanosec
            && page.vmGenerationCounter == expected.vmGenerationCounter
    }
}
