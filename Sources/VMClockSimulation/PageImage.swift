import VMClockPage

/// Every field of a page as raw values, hostile ones included: the writer's
/// model of what to publish. `encode` lays it out little-endian per the ABI.
public struct PageImage: Sendable, Equatable {
    public var magic = PageLayout.magicValue
    public var size = UInt32(PageLayout.pageSize)
    public var version = PageLayout.supportedVersion
    public var counterID: UInt8 = CounterID.x86TSC.rawValue
    public var timeType: UInt8 = TimeType.utc.rawValue
    public var disruptionMarker: UInt64 = 0
    public var flags: UInt64 = 0
    public var clockStatus: UInt8 = ClockStatus.synchronized.rawValue
    public var leapSecondSmearingHint: UInt8 = 0
    public var taiOffsetSec: Int16 = 0
    public var leapIndicator: UInt8 = 0
    public var counterPeriodShift: UInt8 = 0
    public var counterValue: UInt64 = 0
    public var counterPeriodFracSec: UInt64 = 0
    public var counterPeriodEsterrorRateFracSec: UInt64 = 0
    public var counterPeriodMaxerrorRateFracSec: UInt64 = 0
    public var timeSec: UInt64 = 0
    public var timeFracSec: UInt64 = 0
    public var timeEsterrorNanosec: UInt64 = 0
    public var timeMaxerrorNanosec: UInt64 = 0
    public var vmGenerationCounter: UInt64 = 0

    public init() {}

    /// The first `PageLayout.structureSize` bytes of the page, seq_count
    /// left zero (the writer owns it). Fields past `size` are written too:
    /// a reader must ignore them, and the simulator proves it does.
    public func encode() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: PageLayout.structureSize)
        out.withUnsafeMutableBytes { b in
            func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
                b.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
            }
            put(magic, PageLayout.magic)
            put(size, PageLayout.size)
            put(version, PageLayout.version)
            put(counterID, PageLayout.counterID)
            put(timeType, PageLayout.timeType)
            put(disruptionMarker, PageLayout.disruptionMarker)
            put(flags, PageLayout.flags)
            put(clockStatus, PageLayout.clockStatus)
            put(leapSecondSmearingHint, PageLayout.leapSecondSmearingHint)
            put(taiOffsetSec, PageLayout.taiOffsetSec)
            put(leapIndicator, PageLayout.leapIndicator)
            put(counterPeriodShift, PageLayout.counterPeriodShift)
            put(counterValue, PageLayout.counterValue)
            put(counterPeriodFracSec, PageLayout.counterPeriodFracSec)
            put(counterPeriodEsterrorRateFracSec, PageLayout.counterPeriodEsterrorRateFracSec)
            put(counterPeriodMaxerrorRateFracSec, PageLayout.counterPeriodMaxerrorRateFracSec)
            put(timeSec, PageLayout.timeSec)
            put(timeFracSec, PageLayout.timeFracSec)
            put(timeEsterrorNanosec, PageLayout.timeEsterrorNanosec)
            put(timeMaxerrorNanosec, PageLayout.timeMaxerrorNanosec)
            put(vmGenerationCounter, PageLayout.vmGenerationCounter)
        }
        return out
    }
}
