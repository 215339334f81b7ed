import VMClockPage

/// Why no consistent page could be had.
public enum SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    /// seq_count stayed odd, or kept changing, for the whole timeout.
    case busy(seqCount: UInt32, timeout: Duration)
    case page(PageError)
    case device(DeviceError)

    public var description: String {
        switch self {
        case .busy(let seq, let timeout):
            "page busy: seq_count \(seq) did not settle within \(timeout) (the host is stuck mid-update); will retry"
        case .page(let error): "page invalid: \(error)"
        case .device(let error): error.description
        }
    }
}
