import ErrorNumbers
import SystemPackage
import VMClockPage
import VMClockSystem

extension DeviceError {
    /// What a failing open or read of `path` means: gone, not ours, or failing.
    init(path: String, errno: Errno) {
        switch errno {
        case .noSuchFileOrDirectory, .operationNotSupportedByDevice, .noSuchAddressOrDevice: self = .absent(path: path)
        case .permissionDenied, .notPermitted: self = .permissionDenied(path: path)
        default: self = .unreadable(path: path, errno: ErrorNumber(errno))
        }
    }
}
