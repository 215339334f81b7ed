import ErrorNumbers

/// Why the device could not be opened or read. Messages say what to do.
public enum DeviceError: Error, Equatable, Sendable, CustomStringConvertible {
    case absent(path: String)
    case permissionDenied(path: String)
    case tooShort(path: String, bytes: Int)
    case unreadable(path: String, errno: ErrorNumber)

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
}
