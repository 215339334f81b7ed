import VMClockPage

/// The daemon's state machine: pure, no I/O, driven by observations of the
/// page and by time (monotonic nanoseconds), answering with effects.
public struct DaemonCore: Sendable {
    public let configuration: DaemonConfiguration
    public let nativeCounter: CounterID?
    public private(set) var state = DaemonState.starting
    public private(set) var calibration = PeriodCalibration()
    private var identities: IdentityWatch
    /// The identity of the last valid page; a change is a disruption.
    public var identity: PageIdentity? { identities.identity }
    /// Resets asked of chronyd so far: one per disruption or host step.
    public private(set) var resetsAsked = 0
    /// The reset (numbered from 1, disruptions and host steps together)
    /// chronyd has not acknowledged yet; nothing is sent while one is owed.
    public private(set) var resetOwed: Int?
    /// The sample this look justifies, while tracking.
    public private(set) var sample: SampleBuilder.Built?
    /// What chronyd's tracking report is asked for (a step after a reset,
    /// a start with no identity from an earlier run).
    private var questions: TrackingQuestions
    private var needsSettle: Bool
    private var goodSince: Int64?
    private var resumedAt: Int64?
    /// When chronyd last acknowledged a reset (monotonic).
    private var acknowledgedAt: Int64?
    private var changes = PageChanges()
    /// The clock data last seen under the current identity, whatever its
    /// verdict: what a host step is measured against.
    private var lastClock: ClockData?
    /// The last page's verdict, reused while the page stays the same.
    private var lastAssessment: PageAssessment?
    private var busySince: Int64?
    /// The last measured disagreement between the page's period and the
    /// counter rate against CLOCK_MONOTONIC_RAW, ppm (nil while calibrating).
    public private(set) var periodDisagreementPPM: Double?
    /// The kernel marked the TSC unstable (see KernelTSCWatch).
    public private(set) var tscUnstable = false
    static let busyToleranceNanoseconds: Int64 = 100_000_000

    /// `remembered`: the identity an earlier run of the daemon left (this
    /// boot); a page that differs from it is a disruption that happened
    /// while the daemon was not running.
    public init(configuration: DaemonConfiguration, nativeCounter: CounterID?, remembered: PageIdentity? = nil) {
        self.configuration = configuration
        self.nativeCounter = nativeCounter
        identities = IdentityWatch(remembered: remembered)
        questions = TrackingQuestions(startUnverified: remembered == nil)
        // Nothing was calibrated yet: the first good page needs no settling.
        needsSettle = false
    }

    /// The identity chronyd's history is known to belong to: the current one
    /// once no reset is owed. What the daemon keeps across its restarts.
    public var confirmedIdentity: PageIdentity? { resetOwed == nil && !identities.lost ? identity : nil }

    /// chronyd acknowledged reset `number` (see `resetOwed`) at `now`. One
    /// asked for an earlier disruption or step does not cover a later one.
    public mutating func resetAcknowledged(disruption number: Int, now: Int64) {
        guard resetOwed == number else { return }
        resetOwed = nil
        acknowledgedAt = now
    }

    /// The kernel's verdict on the TSC. It matters only where the counter
    /// is the TSC (a page's clock data is always in the native counter);
    /// what was calibrated while it may have been unstable is dropped.
    public mutating func kernelTSC(unstable: Bool) {
        guard nativeCounter == .x86TSC else { return }
        if unstable, !tscUnstable { calibration.reset() }
        tscUnstable = unstable
    }

    /// The host announced maintenance (DISRUPTION_SOON or IMMINENT) and has
    /// not withdrawn it: a disruption is coming.
    public var maintenanceAnnounced: Bool { !changes.announced.isEmpty }
    /// Which of DISRUPTION_SOON and DISRUPTION_IMMINENT the page raises.
    public var maintenanceFlags: PageFlags { changes.announced }

    /// chronyd may select VMCK only while fresh samples flow.
    public var wantsSelectable: Bool { state == .tracking }

    /// Feeds one observation taken at `now`; returns what to do, in order.
    public mutating func observe(_ observation: Observation, now: Int64) -> [DaemonEffect] {
        var effects: [DaemonEffect] = []
        let next: DaemonState
        switch observation {
        case .unavailable(let error):
            effects += loseThePage()
            next = .holding(.deviceUnavailable(error))
        case .readFailed(let error):
            // The same device, unreadable for now: what it shows when it
            // reads again says whether anything happened meanwhile (a
            // changed marker is a disruption then). Calibration stays.
            goodSince = nil
            lastAssessment = nil
            next = .holding(.deviceFailing(error))
        case .invalid(let error):
            effects += loseThePage()
            next = .holding(.pageInvalid(error))
        case .busy:
            // The driver gives a writer 100 ms; so does the daemon before it holds.
            let since = busySince ?? now
            busySince = since
            guard now - since >= Self.busyToleranceNanoseconds else { return effects }
            goodSince = nil
            next = .holding(.busy)
        case .page(let page, let look):
            effects += notice(page)
            let assessment = PageAssessment(page: page, nativeCounter: nativeCounter, taiPolicy: configuration.taiPolicy)
            effects += noticeHostStep(assessment.clockData)
            lastAssessment = assessment
            next = judge(assessment, look: look, now: now)
        case .samePage(let look):
            // Only ever after a `.page`; without one there is nothing to judge.
            guard let lastAssessment else { return effects }
            next = judge(lastAssessment, look: look, now: now)
        }
        if next != .tracking { sample = nil }
        if observation != .busy { busySince = nil }
        effects += move(to: next, now: now)
        effects += questions.giveUp(now: now, sinceMeasurementsBegan: secondsSinceMeasurementsBegan(now), pageSeen: identity != nil)
        return effects
    }

    // MARK: - disruptions

    /// The device went away or its page broke: whatever comes back may be
    /// another host's, so everything learned is dropped now.
    private mutating func loseThePage() -> [DaemonEffect] {
        goodSince = nil
        lastAssessment = nil
        lastClock = nil
        guard let change = identities.lostPage() else { return [] }
        return disrupt(change)
    }

    private mutating func disrupt(_ change: IdentityWatch.Change) -> [DaemonEffect] {
        // A restored guest's clock is seconds behind whether or not the page
        // has clock data; without it, chronyd's NTP sources measure it.
        askReset(expectingStep: change.new != nil)
        lastClock = nil
        calibration.reset()
        needsSettle = configuration.settleTime > 0
        goodSince = nil
        return [
            .log(.disruption(change.kind, oldMarker: change.old.disruptionMarker, newMarker: change.new?.disruptionMarker,
                             generation: change.new?.vmGenerationCounter, whileAway: change.whileAway))
        ]
    }

    /// chronyd must drop what it holds of VMCK: one reset, numbered, owed
    /// until acknowledged.
    /// `expectingStep`: the clock may be far off after it (a page is
    /// there, and stepping is not switched off).
    private mutating func askReset(expectingStep: Bool) {
        resetsAsked += 1
        resetOwed = resetsAsked
        questions.resetAsked(expectingStep: expectingStep && configuration.stepThreshold != nil)
    }

    /// A step of the host's time beyond both pages' bounds, same identity
    /// (a new identity was handled as a disruption and cleared `lastClock`).
    /// chronyd is reset and, like after a disruption, stepped if far off;
    /// the calibration stays: the counter did not change, only the host's
    /// time did, and the rate cross-check compares the period with
    /// CLOCK_MONOTONIC_RAW, which no host time touches.
    private mutating func noticeHostStep(_ clock: ClockData?) -> [DaemonEffect] {
        guard let clock else { return [] }
        defer { lastClock = clock }
        guard let old = lastClock, let step = HostStep.between(old, clock), let identity else { return [] }
        askReset(expectingStep: true)
        goodSince = nil
        return [.log(.hostStep(step, marker: identity.disruptionMarker))]
    }

    /// Identity, maintenance flags and field changes of a consistent page.
    private mutating func notice(_ page: VMClockPage) -> [DaemonEffect] {
        var effects: [DaemonEffect] = []
        let current = PageIdentity(page)
        if let change = identities.saw(current) { effects += disrupt(change) }
        effects += changes.notice(page)
        return effects
    }

    // MARK: - judging a page

    private mutating func judge(_ assessment: PageAssessment, look: Look, now: Int64) -> DaemonState {
        guard let clock = assessment.clockData else {
            goodSince = nil
            return assessment.verdict == .disruptionOnly ? .disruptionOnly : .holding(Self.holdReason(assessment.problem))
        }
        // No reading of an unstable TSC is worth calibrating on either.
        if tscUnstable {
            goodSince = nil
            return .holding(.tscUnstable)
        }
        let disagreement = calibrate(clock, look.rawBracket)
        let built = SampleBuilder.build(clock: clock, bracket: look.bracket, configuration: configuration)
        if let problem = assessment.problem {
            goodSince = nil
            return .holding(Self.holdReason(problem))
        }
        if let reason = holdReason(built, disagreement) {
            goodSince = nil
            return .holding(reason)
        }
        let since = goodSince ?? now
        goodSince = since
        if needsSettle, Double(now - since) * 1e-9 < configuration.settleTime { return .holding(.settling) }
        sample = try? built.get()
        return .tracking
    }

    /// The page's own verdict as a hold reason.
    private static func holdReason(_ problem: PageAssessment.Problem?) -> HoldReason {
        switch problem {
        case .invalid(let error): .pageInvalid(error)
        case .noTime(let error): .noTime(error)
        case .clockStatus(let status): .clockStatus(status)
        case nil: .noTime(nil)
        }
    }

    /// Records this look's raw bracket (whatever the host's status: the
    /// counter's rate is this machine's) and compares it with the page's period.
    private mutating func calibrate(_ clock: ClockData, _ raw: CounterBracket) -> (ppm: Double, uncertaintyPPM: Double)? {
        // An inverted bracket says nothing (another CPU's counter).
        if !raw.isInverted { calibration.record(PeriodCalibration.Point(
            counter: raw.counterMidpoint, rawNanoseconds: raw.system.nanosecondsSinceEpoch ?? 0,
            uncertaintyNanoseconds: Int64(clamping: clock.readUncertaintyNanoseconds(raw)))) }
        let pageSecondsPerTick = Double(clock.counterPeriodFracSec)
            * Double(sign: .plus, exponent: -64 - Int(clock.counterPeriodShift), significand: 1)
        let disagreement = calibration.disagreement(pageSecondsPerTick: pageSecondsPerTick)
        periodDisagreementPPM = disagreement?.ppm
        return disagreement
    }

    /// Why a look at a page the host vouches for cannot feed chronyd, or nil
    /// if it can. The bound judged is the sample's own (page and read): one
    /// gate for state and samples.
    func holdReason(
        _ built: Result<SampleBuilder.Built, SampleBuilder.Withheld>,
        _ disagreement: (ppm: Double, uncertaintyPPM: Double)?
    ) -> HoldReason? {
        switch built {
        case .success: break
        case .failure(.noTime): return .noTime(nil)
        case .failure(.noErrorBound): return .noErrorBound
        case .failure(.boundAbovePromise(let bound)):
            return .boundAbovePromise(boundNanoseconds: bound, promiseNanoseconds: configuration.promiseNanoseconds)
        case .failure(.nearLeapSecond): return .leapSecond
        }
        let tolerance = configuration.periodTolerancePPM
        // Ready once the rate is known to a tenth of the tolerance.
        guard let disagreement, disagreement.uncertaintyPPM <= tolerance / 10 else { return .calibrating }
        if abs(disagreement.ppm) > tolerance { return .periodDisagrees(ppm: disagreement.ppm, tolerancePPM: tolerance) }
        if resetOwed != nil { return .resetPending }
        return nil
    }

    private mutating func move(to next: DaemonState, now: Int64) -> [DaemonEffect] {
        let previous = state
        state = next
        if next == .tracking, previous != .tracking {
            needsSettle = false
            resumedAt = now
        }
        guard Self.differ(previous, next) else { return [] }
        return [.log(.stateChanged(from: previous, to: next))]
    }

    /// Whether a change is worth a log line: the kind of state or of reason.
    private static func differ(_ a: DaemonState, _ b: DaemonState) -> Bool {
        switch (a, b) {
        case (.holding(let x), .holding(let y)): x.kind != y.kind
        default: a != b
        }
    }

    // MARK: - chronyd's tracking report

    /// Whether the runner should ask chronyd for its tracking report.
    public var wantsTracking: Bool {
        questions.wantsReport(measuring: measurementsSince != nil, pageSeen: identity != nil)
    }

    /// A page was seen, no earlier run left its identity, and no reset has
    /// been asked since: chronyd's tracking report decides.
    public var isVerifyingStart: Bool { questions.isVerifyingStart(pageSeen: identity != nil) }

    /// Set after a reset until chronyd's correction has been checked.
    public var stepPending: Bool { questions.stepPending }

    /// chronyd's tracking report, taken at `now` (monotonic) when its
    /// reference was last updated `referenceAge` seconds earlier;
    /// `synchronised`: chronyd steers by a reference.
    public mutating func tracking(
        correctionSeconds: Double, referenceAgeSeconds: Double, synchronised: Bool, now: Int64
    ) -> [DaemonEffect] {
        let decision = questions.answer(
            correctionSeconds: correctionSeconds, referenceAgeSeconds: referenceAgeSeconds, synchronised: synchronised,
            sinceMeasurementsBegan: secondsSinceMeasurementsBegan(now), pageSeen: identity != nil, stepThreshold: configuration.stepThreshold)
        switch decision {
        case .none: return []
        case .step(let correction): return [.makeStep(correctionSeconds: correction)]
        case .startVerified: return [.log(.startVerified)]
        // Without an identity from an earlier run, a migration while
        // vmclockd was stopped leaves nothing to compare: a synchronised
        // chronyd may steer by what it learned before one, and is reset
        // once, as after any disruption. One that is not steers by nothing
        // (a reset keeps the frequency either way): the usual case at boot.
        case .resetUnverifiedStart:
            guard let identity else { return [] }
            return disrupt(.init(kind: .unverifiedStart, old: identity, new: identity, whileAway: true))
        }
    }

    static let stepPatienceSeconds = TrackingQuestions.patienceSeconds

    /// Since when chronyd's measurements are of the clock as it is now
    /// (monotonic): since samples resumed, while tracking; on a page with no
    /// clock data, since the reset was acknowledged (its NTP sources). nil
    /// while there can be none.
    private var measurementsSince: Int64? {
        switch state {
        case .tracking: resumedAt
        case .disruptionOnly where resetOwed == nil: acknowledgedAt
        default: nil
        }
    }

    private func secondsSinceMeasurementsBegan(_ now: Int64) -> Double? {
        measurementsSince.map { Double(now - $0) * 1e-9 }
    }
}
