import VMClockPage

/// What the state machine asks the outside world to do. The machine itself
/// does no I/O; the runner carries these out, in order.
public enum DaemonEffect: Equatable, Sendable {
    case log(DaemonEvent)
    /// chronyd: drop every measurement of every source (REQ_RESET_SOURCES).
    case resetChronySources
    /// chronyd: take a burst of fresh measurements from its NTP sources.
    case burstChronySources
    /// chronyd: step the clock by the correction it still has to make.
    case makeStep(correctionSeconds: Double)
}

/// Things worth a log line, each logged once when it happens.
public enum DaemonEvent: Equatable, Sendable {
    case stateChanged(from: DaemonState, to: DaemonState)
    case disruption(DisruptionKind, oldMarker: UInt64, newMarker: UInt64?, generation: UInt64?)
    case maintenanceAnnounced(PageFlags)
    case pageFieldChanged(field: String, old: String, new: String)
    case stepSkipped(reason: String)

    public var isWarning: Bool {
        switch self {
        case .disruption, .maintenanceAnnounced: true
        case .stateChanged(_, .holding(let reason)): reason != .calibrating && reason != .settling
        default: false
        }
    }

    public var message: String {
        switch self {
        case .stateChanged(let from, let to):
            "state \(from.label) → \(to.label)" + (to.holdReason.map { ": \($0)" } ?? "")
        case .disruption(let kind, let old, let new, let generation):
            "disruption: \(kind.rawValue); marker \(old) → \(new.map(String.init) ?? "?")"
                + (generation.map { ", vm_generation_counter \($0)" } ?? "")
                + "; calibration dropped, chronyd told to reset its sources, holding"
        case .maintenanceAnnounced(let flags):
            flags.contains(.disruptionImminent)
                ? "the host announces a disruption within about an hour (DISRUPTION_IMMINENT)"
                : "the host announces a disruption within about a day (DISRUPTION_SOON)"
        case .pageFieldChanged(let field, let old, let new):
            "page \(field) changed: \(old) → \(new)"
        case .stepSkipped(let reason):
            "no step after the disruption: \(reason)"
        }
    }
}
