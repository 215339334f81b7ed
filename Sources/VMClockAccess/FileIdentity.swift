import SystemPackage
import VMClockPage

/// Which file a path names (device and inode), to notice a replaced device.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
    /// st_size for regular files; nil for devices, whose size means nothing.
    let regularFileSize: Int?
    let isCharacterDevice: Bool

    init(descriptor: FileDescriptor, path: String) throws(DeviceError) {
        do throws(Errno) {
            self.init(try descriptor.stat())
        } catch {
            throw DeviceError(path: path, errno: error)
        }
    }

    init(path: String) throws(DeviceError) {
        do throws(Errno) {
            self.init(try Stat(path: path))
        } catch {
            throw DeviceError(path: path, errno: error)
        }
    }

    private init(_ info: Stat) {
        device = UInt64(info.deviceID.rawValue)
        inode = UInt64(info.inode.rawValue)
        regularFileSize = info.type == .regular ? Int(info.size) : nil
        isCharacterDevice = info.type == .characterSpecial
    }

    static func == (lhs: FileIdentity, rhs: FileIdentity) -> Bool {
        lhs.device == rhs.device && lhs.inode == rhs.inode
    }
}
