import SystemPackage
import VMClockPage

/// Why the device could not be opened or read. Messages say what to do.
public enum DeviceError: Error, Equatable, Sendable, CustomStringConvertible {
    case absent(path: String)
    case permissionDenied(path: String)
    case tooShort(path: String, bytes: Int)
    case unreadable(path: String, errno: Errno)

    public var description: String {
        switch self {
        case .absent(let path):
            "\(path) does not exist: this VM has no vmclock device (Linux 6.13+ with CONFIG_PTP_1588_CLOCK_VMCLOCK and a hypervisor that offers one), or pass --device"
        case .permissionDenied(let path):
            "\(path): permission denied: run as root or install the udev rule that grants read access"
        case .tooShort(let path, let bytes):
            "\(path) holds only \(bytes) bytes, less than the \(PageLayout.minimumSize) of a vmclock page"
        case .unreadable(let path, let errno):
            "\(path): \(errno)"
        }
    }

    /// The device really went away: its path names nothing, or a node whose
    /// driver is gone. Everything else (permission, EMFILE, EIO, a short
    /// read) is a failing open or read of a device that is still there.
    public var hasVanished: Bool {
        if case .absent = self { return true }
        return false
    }

    init(path: String, errno: Errno) {
        switch errno {
        case .noSuchFileOrDirectory, .operationNotSupportedByDevice, .noSuchAddressOrDevice: self = .absent(path: path)
        case .permissionDenied, .notPermitted: self = .permissionDenied(path: path)
        default: self = .unreadable(path: path, errno: errno)
        }
    }
}

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
