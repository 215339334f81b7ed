/// Byte offsets of the vmclock page, ABI version 1 (linux/vmclock-abi.h).
/// All fields are little-endian.
public enum PageLayout {
    public static let magicValue: UInt32 = 0x4b4c_4356  // "VCLK"
    public static let supportedVersion: UInt16 = 1
    /// The host must provide at least the fields up to `flags`.
    public static let minimumSize = 32
    /// Where Linux's vmclock driver (ptp_vmclock) offers the page: the one
    /// default the CLI, the daemon and the device reader share.
    public static let devicePath = "/dev/vmclock0"
    /// The full version 1 structure.
    public static let structureSize = 112
    /// The device maps exactly one page.
    public static let pageSize = 4096

    public static let magic = 0
    public static let size = 4
    public static let version = 8
    public static let counterID = 10
    public static let timeType = 11
    public static let seqCount = 12
    public static let disruptionMarker = 16
    public static let flags = 24
    public static let clockStatus = 34
    public static let leapSecondSmearingHint = 35
    public static let taiOffsetSec = 36
    public static let leapIndicator = 38
    public static let counterPeriodShift = 39
    public static let counterValue = 40
    public static let counterPeriodFracSec = 48
    public static let counterPeriodEsterrorRateFracSec = 56
    public static let counterPeriodMaxerrorRateFracSec = 64
    public static let timeSec = 72
    public static let timeFracSec = 80
    public static let timeEsterrorNanosec = 88
    public static let timeMaxerrorNanosec = 96
    public static let vmGenerationCounter = 104

    /// A field at `offset` of `width` bytes is present when the host's
    /// `size` covers all of it; fields past `size` are absent, never garbage.
    @inlinable
    public static func isPresent(offset: Int, width: Int, size: UInt32) -> Bool {
        offset + width <= Int(size)
    }

    /// The clock data (counter, period, time) ends with `time_frac_sec`;
    /// a smaller page can only signal disruptions.
    public static let clockDataEnd = timeFracSec + 8
}
