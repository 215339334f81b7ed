import VMClockAccess
import VMClockPage

/// The simulated hypervisor: settings plus the host's own state (marker,
/// generation) and its knowledge of the counter, turned into page images.
public struct SimulatedHost {
    public var settings: SimulationSettings
    /// Starts at a random value: markers must not repeat across runs either.
    public private(set) var disruptionMarker = UInt64.random(in: 1...(UInt64.max / 2))
    public private(set) var vmGenerationCounter: UInt64 = 1
    private var calibration = CounterCalibration()
    private var patternUpdates: UInt64 = 0

    public init(settings: SimulationSettings) { self.settings = settings }

    /// A migration: a new marker, optionally a time step and a new period error.
    public mutating func disrupt(stepNanoseconds: Int64 = 0, periodErrorPPM: Double? = nil) {
        disruptionMarker &+= 1
        step(nanoseconds: stepNanoseconds)
        if let periodErrorPPM { settings.periodErrorPPM = periodErrorPPM }
    }

    /// The host steps its time, marker unchanged.
    public mutating func step(nanoseconds: Int64) {
        settings.offsetNanoseconds &+= nanoseconds
    }

    /// A snapshot restore: a new generation and, as the ABI requires, a new marker.
    public mutating func restoreSnapshot(stepNanoseconds: Int64 = 0) {
        vmGenerationCounter &+= 1
        disrupt(stepNanoseconds: stepNanoseconds)
    }

    public mutating func setRaw(marker: UInt64? = nil, generation: UInt64? = nil) {
        if let marker { disruptionMarker = marker }
        if let generation { vmGenerationCounter = generation }
    }

    /// The page to publish now.
    public mutating func image() -> PageImage {
        switch settings.mode {
        case .pattern:
            patternUpdates &+= 1
            return TornWritePattern.image(patternUpdates)
        case .clock:
            return clockImage()
        }
    }

    private mutating func clockImage() -> PageImage {
        let s = settings
        let trueSecondsPerTick = calibration.secondsPerTick()
        let (period, shift) = fixedPointPeriod(
            secondsPerTick: trueSecondsPerTick * (1 + s.periodErrorPPM * 1e-6), shift: s.shift)
        let anchor = CrossTimestamp.measure(attempts: 9)
        var image = PageImage()
        image.magic = s.magic
        image.size = s.size
        image.version = s.version
        image.counterID = s.counterID
        image.timeType = s.timeType
        image.disruptionMarker = disruptionMarker
        image.flags = s.flags.rawValue
        image.clockStatus = s.clockStatus
        image.leapSecondSmearingHint = s.smearingHint
        image.taiOffsetSec = s.taiOffsetField
        image.leapIndicator = s.leapIndicator
        image.counterPeriodShift = shift
        image.counterValue = anchor.counterMidpoint
        image.counterPeriodFracSec = period
        image.counterPeriodMaxerrorRateFracSec = Self.rate(ppb: s.periodMaxerrorPPB, of: period)
        image.counterPeriodEsterrorRateFracSec = Self.rate(ppb: s.periodEsterrorPPB, of: period)
        (image.timeSec, image.timeFracSec) = pageTime(system: anchor.system)
        image.timeMaxerrorNanosec = s.timeMaxerrorNanoseconds
        image.timeEsterrorNanosec = s.timeEsterrorNanoseconds
        image.vmGenerationCounter = vmGenerationCounter
        return image
    }

    /// System time + offset, in the page's timescale (TAI pages run ahead of UTC).
    private func pageTime(system: Timestamp) -> (UInt64, UInt64) {
        let offset = settings.offsetNanoseconds
        let (offsetSeconds, offsetNanos) = offset.quotientAndRemainder(dividingBy: 1_000_000_000)
        let taiSeconds = settings.timeType == TimeType.tai.rawValue ? settings.taiMinusUTCSeconds : 0
        let shifted = (Int128(system.seconds) + Int128(offsetSeconds) + Int128(taiSeconds)) << 64
            + Int128(system.fraction) + Int128(offsetNanos) << 64 / 1_000_000_000
        let clamped = max(shifted, 0)
        return (UInt64(truncatingIfNeeded: clamped >> 64), UInt64(truncatingIfNeeded: clamped))
    }

    private static func rate(ppb: Double, of period: UInt64) -> UInt64 {
        let value = (Double(period) * ppb * 1e-9).rounded(.up)
        return value >= 0x1p64 ? .max : UInt64(max(value, 0))
    }
}
