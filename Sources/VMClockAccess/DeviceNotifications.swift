#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import VMClockPage
import VMClockSystem

/// Update notifications (Linux 7.x): with NOTIFICATION_PRESENT on the page,
/// poll() on the open device reports POLLIN when seq_count changed since this
/// file's last read(), and a read() re-arms it. Without the flag poll()
/// reports POLLHUP at once; kernels whose driver has no poll handler
/// (6.13–6.x) report the default mask, POLLOUT included, at once and
/// forever. Only a character device can do either: a regular file is always
/// "readable", and polling one would spin.
public final class NotificationSource {
    public let descriptor: Int32
    public let isCharacterDevice: Bool
    /// The device whose updates this reports; kept open while in use.
    private let device: VMClockDevice
    /// The descriptor is this source's own (opened from another path).
    private let ownsDescriptor: Bool

    /// The device's own notifications.
    public init(_ device: VMClockDevice) {
        self.device = device
        descriptor = device.fileDescriptor
        isCharacterDevice = device.isCharacterDevice
        ownsDescriptor = false
    }

    /// Notifications from another file than the page's, for `device`: a test
    /// seam, so a real character device's poll() and read() (one with no poll
    /// handler, or whose read fails) can stand behind a page kept in a regular
    /// file. Opened anew for each device, as the device's own would be.
    public init(path: String, for device: VMClockDevice) throws(DeviceError) {
        let file = try Self.open(path)
        do throws(Errno) {
            isCharacterDevice = try file.stat().type == .characterSpecial
        } catch {
            file.closeQuietly()
            throw DeviceError(path: path, errno: error)
        }
        self.device = device
        descriptor = file.rawValue
        ownsDescriptor = true
    }

    deinit { if ownsDescriptor { FileDescriptor(rawValue: descriptor).closeQuietly() } }

    /// Fails as opening `path` as a source would: checked once at start, so
    /// a seam that cannot be used stops the daemon instead of going unseen.
    public static func checkOpens(_ path: String) throws(DeviceError) {
        try open(path).closeQuietly()
    }

    private static func open(_ path: String) throws(DeviceError) -> FileDescriptor {
        do throws(Errno) {
            // A terminal standing in must never become the daemon's.
            return try FileDescriptor(opening: path, .readOnly, options: [.closeOnExec, .noControllingTerminal])
        } catch {
            throw DeviceError(path: path, errno: error)
        }
    }

    /// This source was made for `device`.
    public func belongs(to device: VMClockDevice) -> Bool { self.device === device }

    public func supports(_ page: VMClockPage) -> Bool {
        isCharacterDevice && page.flags.contains(.notificationPresent)
    }

    /// What poll()'s `revents` says: an update, or no notification support
    /// at all (POLLOUT, POLLHUP, POLLERR, POLLNVAL).
    public static func unsupported(revents: Int16) -> Bool {
        revents & Int16(POLLOUT | POLLHUP | POLLERR | POLLNVAL) != 0
    }

    /// Re-arms the notification with a read(); false if the read failed (the
    /// driver's ETIMEDOUT while the host holds seq_count odd): POLLIN then
    /// stays raised.
    public func rearm() -> Bool {
        var byte: UInt8 = 0
        return (try? withUnsafeMutableBytes(of: &byte) { (buffer) throws(Errno) in
            try FileDescriptor(rawValue: descriptor).readSome(into: buffer, at: 0)
        }) != nil
    }
}
