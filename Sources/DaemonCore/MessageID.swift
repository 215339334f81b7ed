/// Stable journal MESSAGE_IDs (packaging/vmclockd.catalog explains each), so
/// operators can find events with `journalctl MESSAGE_ID=…` across versions.
public enum MessageID: String, Sendable, CaseIterable {
    case disruption = "3a55088562bf4d02a70bb55342e57238"
    case hold = "fb660c8b7e51438383ea2c99d3eebcce"
    case resume = "d3deab687c8c4c98bcd57f56340d7cc3"
    case maintenance = "aefb9a425ba24c0bb9711b4d0d2fb7f4"
    case resetAcknowledged = "7698050e36c24cb09334a66f975fa934"
    case hostStep = "c3a81686b03640e3b7904a803529c906"
}

extension DaemonEvent {
    /// The journal MESSAGE_ID of this event, where operators may want to find it.
    public var messageID: MessageID? {
        switch self {
        case .disruption: .disruption
        case .hostStep: .hostStep
        case .maintenanceAnnounced: .maintenance
        case .stateChanged(_, .tracking): .resume
        case .stateChanged(_, .holding): .hold
        case .stateChanged, .pageFieldChanged, .stepSkipped, .startVerified, .startUnverifiable: nil
        }
    }
}
