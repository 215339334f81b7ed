import VMClockPage

/// What the state machine asks the outside world to do. The machine itself
/// does no I/O; the runner carries these out, in order. What chronyd must
/// be told to reach (a reset owed, VMCK selectable or not) is state, read
/// from the machine (`resetOwed`, `wantsSelectable`) and kept in step by
/// `ChronyDirector`.
public enum DaemonEffect: Equatable, Sendable {
    case log(DaemonEvent)
    /// chronyd: step the clock by the correction it still has to make.
    case makeStep(correctionSeconds: Double)
}

/// Things worth a log line, each logged once when it happens.
public enum DaemonEvent: Equatable, Sendable {
    case stateChanged(from: DaemonState, to: DaemonState)
    /// `whileAway`: found at start against what the daemon's last run left.
    case disruption(DisruptionKind, oldMarker: UInt64, newMarker: UInt64?, generation: UInt64?, whileAway: Bool)
    case maintenanceAnnounced(PageFlags)
    case pageFieldChanged(field: String, old: String, new: String)
    case stepSkipped(reason: String)
    /// No identity from an earlier run, and chronyd steers by nothing: no reset needed.
    case startVerified
    /// No identity from an earlier run, and chronyd could not be asked.
    case startUnverifiable
    /// The host's time moved beyond both pages' bounds under one marker.
    case hostStep(HostStep, marker: UInt64)

    public var isWarning: Bool {
        switch self {
        case .disruption(let kind, _, _, _, _): kind != .unverifiedStart
        case .maintenanceAnnounced, .startUnverifiable, .hostStep: true
        case .stateChanged(_, .holding(let reason)): ![.calibrating, .settling, .resetPending].contains(reason)
        default: false
        }
    }

    public var message: String {
        switch self {
        case .stateChanged(let from, let to):
            "state \(from.label) → \(to.label)" + (to.holdReason.map { ": \($0)" } ?? "")
        case .disruption(.unverifiedStart, _, let marker, _, _):
            "no page identity from an earlier run (the first start in this boot, or the state file is gone or 'none') and chronyd is synchronised: "
                + "a disruption while vmclockd was not running cannot be ruled out (marker now \(marker.map(String.init) ?? "?")); "
                + "resetting chronyd once, holding until it acknowledges 'reset sources'"
        case .disruption(let kind, let old, let new, let generation, let whileAway):
            "disruption" + (whileAway ? " while vmclockd was not running" : "") + ": \(kind.rawValue); marker \(old) → \(new.map(String.init) ?? "?")"
                + (generation.map { ", vm_generation_counter \($0)" } ?? "")
                + "; calibration dropped, holding until chronyd acknowledges 'reset sources'"
        case .maintenanceAnnounced(let flags):
            flags.contains(.disruptionImminent)
                ? "the host announces a disruption within about an hour (DISRUPTION_IMMINENT)"
                : "the host announces a disruption within about a day (DISRUPTION_SOON)"
        case .pageFieldChanged(let field, let old, let new):
            "page \(field) changed: \(old) → \(new)"
        case .stepSkipped(let reason):
            "no step after the disruption: \(reason)"
        case .startVerified:
            "no page identity from an earlier run, and chronyd is not synchronised: it steers by nothing from before, so no reset is needed"
        case .startUnverifiable:
            "no page identity from an earlier run, and chronyd gave no tracking report within \(Int(DaemonCore.stepPatienceSeconds)) s: "
                + "a disruption while vmclockd was not running would go unnoticed; check that chronyd's command socket is reachable (see control-socket)"
        case .hostStep(let step, let marker):
            "the host stepped its time by \(step.stepNanoseconds) ns under the same disruption_marker \(marker), beyond the bounds it gave"
                + " (\(step.oldBoundNanoseconds) ns before, \(step.newBoundNanoseconds) ns now): chronyd's VMCK samples from before are wrong"
                + " by more than they claimed; holding until chronyd acknowledges 'reset sources', then following the new page"
                + " (calibration kept: the counter did not change)"
        }
    }
}
