/// The two questions chronyd's tracking report answers, and when to stop
/// asking: after a reset, whether chronyd still has so far to correct that
/// it should step; at a start with no identity from an earlier run, whether
/// chronyd steers by anything it could have learned before a migration
/// that vmclockd did not see. Pure: the core asks, the loop fetches.
struct TrackingQuestions: Sendable {
    /// Set after a reset until chronyd's correction has been checked.
    private(set) var stepPending = false
    /// No identity was left by an earlier run (the first start in this boot,
    /// the state file removed or 'none') and no reset was asked since.
    private var startUnverified: Bool
    /// When the start was first found unverified with a page (monotonic).
    private var verifyingSince: Int64?

    static let patienceSeconds = 120.0

    /// What an answer decides.
    enum Decision: Equatable {
        case none
        /// Ask chronyd to step by the correction it still has to make.
        case step(correctionSeconds: Double)
        /// chronyd is synchronised: reset it once (a disruption while
        /// vmclockd was not running cannot be ruled out).
        case resetUnverifiedStart
        /// chronyd steers by nothing from before: no reset needed.
        case startVerified
    }

    init(startUnverified: Bool) { self.startUnverified = startUnverified }

    /// A reset was asked of chronyd: it covers whatever happened while
    /// vmclockd was away, and its aftermath may need a step.
    mutating func resetAsked(expectingStep: Bool) {
        startUnverified = false
        stepPending = expectingStep
    }

    /// A page was seen, and no earlier run left its identity.
    func isVerifyingStart(pageSeen: Bool) -> Bool { startUnverified && pageSeen }

    /// `measuring`: chronyd's measurements can be of the clock as it is now.
    func wantsReport(measuring: Bool, pageSeen: Bool) -> Bool {
        (stepPending && measuring) || isVerifyingStart(pageSeen: pageSeen)
    }

    /// chronyd's report, given `sinceMeasurementsBegan` seconds after its
    /// measurements began to be of the clock as it is now (samples resumed,
    /// or, with no clock data, the reset acknowledged; nil while they cannot
    /// be), of a reference updated `referenceAge` ago.
    mutating func answer(
        correctionSeconds: Double, referenceAgeSeconds: Double, synchronised: Bool,
        sinceMeasurementsBegan: Double?, pageSeen: Bool, stepThreshold: Double?
    ) -> Decision {
        if isVerifyingStart(pageSeen: pageSeen) {
            startUnverified = false
            return synchronised ? .resetUnverifiedStart : .startVerified
        }
        guard stepPending, let sinceMeasurementsBegan, let stepThreshold else { return .none }
        // Only a correction chronyd computed from measurements taken since
        // then reflects the new host.
        guard referenceAgeSeconds < sinceMeasurementsBegan else { return .none }
        stepPending = false
        return abs(correctionSeconds) > stepThreshold ? .step(correctionSeconds: correctionSeconds) : .none
    }

    /// Stop asking a chronyd that cannot be asked, or never updates, once
    /// it has had long enough; the line that says so.
    mutating func giveUp(now: Int64, sinceMeasurementsBegan: Double?, pageSeen: Bool) -> [DaemonEffect] {
        var effects: [DaemonEffect] = []
        if isVerifyingStart(pageSeen: pageSeen) {
            let since = verifyingSince ?? now
            verifyingSince = since
            if Double(now - since) * 1e-9 > Self.patienceSeconds {
                startUnverified = false
                effects.append(.log(.startUnverifiable))
            }
        }
        if stepPending, let sinceMeasurementsBegan, sinceMeasurementsBegan > Self.patienceSeconds {
            stepPending = false
            effects.append(.log(.stepSkipped(reason: "chronyd gave no correction measured after the disruption within \(Int(Self.patienceSeconds)) s (unreachable, no source it can reach, or the VMCK refclock not selectable?)")))
        }
        return effects
    }
}
