/// One consistent copy of the vmclock page, structurally valid (magic, version
/// and size checked). Fields the host did not provide (past `size`) are nil.
/// Enumerated fields keep their raw byte so that unknown values can be shown.
public struct VMClockPage: Sendable, Equatable {
    public var size: UInt32
    public var version: UInt16
    public var counterID: UInt8
    public var timeType: UInt8
    public var seqCount: UInt32
    public var disruptionMarker: UInt64
    public var flags: PageFlags
    public var clockStatus: UInt8?
    public var leapSecondSmearingHint: UInt8?
    public var taiOffsetSec: Int16?
    public var leapIndicator: UInt8?
    public var counterPeriodShift: UInt8?
    public var counterValue: UInt64?
    public var counterPeriodFracSec: UInt64?
    public var counterPeriodEsterrorRateFracSec: UInt64?
    public var counterPeriodMaxerrorRateFracSec: UInt64?
    public var timeSec: UInt64?
    public var timeFracSec: UInt64?
    public var timeEsterrorNanosec: UInt64?
    public var timeMaxerrorNanosec: UInt64?
    public var vmGenerationCounter: UInt64?

    public var magic: UInt32 { PageLayout.magicValue }

    /// vm_generation_counter where the host keeps one: flag
    /// VM_GEN_COUNTER_PRESENT set and the field within `size`. Without the
    /// flag the field means nothing, whatever it holds.
    public var flaggedGenerationCounter: UInt64? {
        flags.contains(.vmGenerationCounterPresent) ? vmGenerationCounter : nil
    }

    /// A page that carries no clock data (QEMU's device, or a page too short
    /// for it) is still good for one thing: disruption signalling.
    public var hasClockData: Bool {
        counterID != CounterID.invalid.rawValue && Int(size) >= PageLayout.clockDataEnd
    }
}

/// Why a page cannot be used at all, not even for disruption signalling.
public enum PageError: Error, Equatable, Sendable, CustomStringConvertible {
    case badMagic(UInt32)
    case unsupportedVersion(UInt16)
    case sizeBelowMinimum(UInt32)
    case sizeBeyondMapping(size: UInt32, mapped: Int)

    public var description: String {
        switch self {
        case .badMagic(let value):
            "magic is 0x\(String(value, radix: 16)), expected 0x\(String(PageLayout.magicValue, radix: 16)) (\"VCLK\"): not a vmclock page"
        case .unsupportedVersion(let value):
            "version is \(value), only version \(PageLayout.supportedVersion) is understood"
        case .sizeBelowMinimum(let value):
            "size is \(value) bytes, below the minimum of \(PageLayout.minimumSize)"
        case .sizeBeyondMapping(let size, let mapped):
            "size is \(size) bytes, larger than the \(mapped) bytes that can be read"
        }
    }
}

extension VMClockPage {
    /// Decodes a page from `bytes`, which hold everything readable from the
    /// device (at least `minimumSize`). Only fields inside the page's own
    /// `size` are read.
    public init(bytes: UnsafeRawBufferPointer) throws(PageError) {
        guard bytes.count >= PageLayout.minimumSize else {
            throw .sizeBeyondMapping(size: UInt32(PageLayout.minimumSize), mapped: bytes.count)
        }
        let reader = FieldReader(bytes: bytes)
        let magic: UInt32 = reader.load(PageLayout.magic)
        guard magic == PageLayout.magicValue else { throw .badMagic(magic) }
        let version: UInt16 = reader.load(PageLayout.version)
        guard version == PageLayout.supportedVersion else { throw .unsupportedVersion(version) }
        let size: UInt32 = reader.load(PageLayout.size)
        guard Int(size) >= PageLayout.minimumSize else { throw .sizeBelowMinimum(size) }
        guard Int(size) <= bytes.count else { throw .sizeBeyondMapping(size: size, mapped: bytes.count) }
        self.init(reader: FieldReader(bytes: bytes, size: size), size: size, version: version)
    }

    private init(reader r: FieldReader, size: UInt32, version: UInt16) {
        self.size = size
        self.version = version
        counterID = r.load(PageLayout.counterID)
        timeType = r.load(PageLayout.timeType)
        seqCount = r.load(PageLayout.seqCount)
        disruptionMarker = r.load(PageLayout.disruptionMarker)
        flags = PageFlags(rawValue: r.load(PageLayout.flags))
        clockStatus = r.optional(PageLayout.clockStatus)
        leapSecondSmearingHint = r.optional(PageLayout.leapSecondSmearingHint)
        taiOffsetSec = r.optional(PageLayout.taiOffsetSec)
        leapIndicator = r.optional(PageLayout.leapIndicator)
        counterPeriodShift = r.optional(PageLayout.counterPeriodShift)
        counterValue = r.optional(PageLayout.counterValue)
        counterPeriodFracSec = r.optional(PageLayout.counterPeriodFracSec)
        counterPeriodEsterrorRateFracSec = r.optional(PageLayout.counterPeriodEsterrorRateFracSec)
        counterPeriodMaxerrorRateFracSec = r.optional(PageLayout.counterPeriodMaxerrorRateFracSec)
        timeSec = r.optional(PageLayout.timeSec)
        timeFracSec = r.optional(PageLayout.timeFracSec)
        timeEsterrorNanosec = r.optional(PageLayout.timeEsterrorNanosec)
        timeMaxerrorNanosec = r.optional(PageLayout.timeMaxerrorNanosec)
        vmGenerationCounter = r.optional(PageLayout.vmGenerationCounter)
    }
}

/// Little-endian field loads from a byte buffer, bounded by the page's size.
private struct FieldReader {
    let bytes: UnsafeRawBufferPointer
    var size: UInt32 = UInt32(PageLayout.minimumSize)

    func load<T: FixedWidthInteger>(_ offset: Int) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    func optional<T: FixedWidthInteger>(_ offset: Int) -> T? {
        guard PageLayout.isPresent(offset: offset, width: T.bitWidth / 8, size: size) else { return nil }
        return load(offset)
    }
}
