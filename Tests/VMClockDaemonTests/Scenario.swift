import DaemonCore
import VMClockPage
import VMClockSimulation

/// A simulated world for the pure state machine: a host page for a 1 GHz
/// counter (one tick per nanosecond) and a clock the test advances by hand.
struct Scenario {
    static let counterBase: UInt64 = 5_000_000_000_000
    static let nativeCounter = CounterID.x86TSC

    var core: DaemonCore
    var image = PageImage()
    /// Nanoseconds since the scenario began: monotonic time and CLOCK_MONOTONIC_RAW alike.
    var now: Int64 = 1_000_000_000
    /// Every effect so far, for assertions over a whole story.
    var history: [DaemonEffect] = []
    /// chronyd answers every reset at the next look (a prompt chronyd).
    var chronydAcknowledges = true
    var acknowledgedResets = 0
    /// How far the host's time is from the true time: changing it between
    /// looks is the host stepping its clock (the marker unchanged).
    var hostOffsetNanoseconds: Int64 = 0
    /// Half the counter bracket around each clock read, ticks (= ns).
    var bracketHalfWidth: UInt64 = 20

    init(remembered: PageIdentity? = nil, _ configure: (inout DaemonConfiguration) -> Void = { _ in }) {
        var configuration = DaemonConfiguration()
        configure(&configuration)
        core = DaemonCore(configuration: configuration, nativeCounter: Self.nativeCounter, remembered: remembered)
        image.counterID = Self.nativeCounter.rawValue
        image.disruptionMarker = 41
        image.vmGenerationCounter = 7
        image.flags = PageFlags([.timeMaxerrorValid, .periodMaxerrorValid, .timeEsterrorValid, .periodEsterrorValid,
                                 .vmGenerationCounterPresent]).rawValue
        image.counterPeriodShift = 29
        image.counterPeriodFracSec = Self.period(ppm: 0)
        image.counterValue = Self.counterBase
        image.timeSec = UInt64(Self.timeAtBase)
        image.timeMaxerrorNanosec = 10_000
        image.timeEsterrorNanosec = 1_000
        image.counterPeriodMaxerrorRateFracSec = image.counterPeriodFracSec / 10_000_000  // 0.1 ppm
        image.counterPeriodEsterrorRateFracSec = image.counterPeriodFracSec / 100_000_000
    }

    /// 1 ns per tick in units of 2^-93 s, off by `ppm`.
    static func period(ppm: Double) -> UInt64 {
        UInt64((1e-9 * 0x1p93 * (1 + ppm * 1e-6)).rounded())
    }

    var counter: UInt64 { Self.counterBase + UInt64(now) }

    /// The true time now (UTC): the page's time at `counterBase` plus one ns
    /// a tick. The system clock agrees with it (offset 0).
    var trueTime: Timestamp {
        let ns = Int64(counter - Self.counterBase)
        return Timestamp(seconds: Self.timeAtBase + ns / 1_000_000_000, nanoseconds: ns % 1_000_000_000)
    }

    static let timeAtBase: Int64 = 1_800_000_000

    /// The host re-anchors the page to the current instant, as a host does:
    /// the same time it said before, at a later counter.
    mutating func reanchor() {
        image.counterValue = counter
        let ns = Int64(counter - Self.counterBase) + hostOffsetNanoseconds
        let time = Timestamp(seconds: Self.timeAtBase + ns / 1_000_000_000, nanoseconds: ns % 1_000_000_000)
        (image.timeSec, image.timeFracSec) = (UInt64(time.seconds), time.fraction)
    }

    /// Advances time by `milliseconds` in 10 ms looks, each at a freshly anchored page.
    @discardableResult
    mutating func run(milliseconds: Int64) -> [DaemonEffect] {
        var effects: [DaemonEffect] = []
        for _ in 0..<max(milliseconds / 10, 1) {
            now += 10_000_000
            reanchor()
            effects += look()
        }
        return effects
    }

    @discardableResult
    mutating func look() -> [DaemonEffect] {
        let observation: Observation
        let bytes = image.encode() + [UInt8](repeating: 0, count: 4096 - PageLayout.structureSize)
        let decoded = bytes.withUnsafeBytes { raw in Result { () throws(PageError) in try VMClockPage(bytes: raw) } }
        switch decoded {
        case .success(let page): observation = .page(page, lookNow)
        case .failure(let error): observation = .invalid(error)
        }
        return feed(observation)
    }

    /// The readings of a look now: the system clock reads the true time
    /// (offset 0 from an honest page) and CLOCK_MONOTONIC_RAW is `now`.
    var lookNow: Look {
        let system = trueTime
        let before = counter - bracketHalfWidth, after = counter + bracketHalfWidth
        return Look(
            bracket: CounterBracket(counterBefore: before, counterAfter: after, system: system),
            rawBracket: CounterBracket(counterBefore: before, counterAfter: after,
                                       system: Timestamp(seconds: now / 1_000_000_000, nanoseconds: now % 1_000_000_000)))
    }

    @discardableResult
    mutating func feed(_ observation: Observation) -> [DaemonEffect] {
        if chronydAcknowledges, let owed = core.resetOwed {
            core.resetAcknowledged(disruption: owed, now: now)
            acknowledgedResets += 1
        }
        let effects = core.observe(observation, now: now)
        history += effects
        return effects
    }

    var state: DaemonState { core.state }

    /// Starts and runs until tracking (the rate cross-check needs 20 ms).
    mutating func startTracking() {
        run(milliseconds: 100)
    }
}

extension [DaemonEffect] {
    var disruptions: [DisruptionKind] {
        compactMap { if case .log(.disruption(let kind, _, _, _, _)) = $0 { kind } else { nil } }
    }
    var disruptionsWhileAway: [Bool] {
        compactMap { if case .log(.disruption(_, _, _, _, let away)) = $0 { away } else { nil } }
    }
    var hostSteps: [HostStep] {
        compactMap { if case .log(.hostStep(let step, _)) = $0 { step } else { nil } }
    }
    var loggedStates: [DaemonState] {
        compactMap { if case .log(.stateChanged(_, let to)) = $0 { to } else { nil } }
    }
}
