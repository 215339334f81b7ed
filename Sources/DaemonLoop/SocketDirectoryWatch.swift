#if canImport(Glibc)
import Glibc
#endif

/// Notices that a directory holding chronyd's sockets was deleted while this
/// process could still see it: a directory that a path still reaches but
/// whose link count is 0.
///
/// Only a bind mount does that. The unit hides the file system and binds
/// chronyd's runtime directory into the service's own view; when chronyd's
/// unit is stopped and started again, systemd removes that directory and
/// makes a new one, which the old bind can never show. Nothing in this
/// process can repair its view (it must not see the rest of /run to reach
/// the new directory), so the loop stops, and the unit starts vmclockd again
/// with chronyd, in a new view. Outside such a view the check never fires.
struct SocketDirectoryWatch {
    /// Once a second, like the device's replacement check.
    static let intervalNanoseconds: Int64 = 1_000_000_000

    private let directories: [String]
    private var nextCheck: Int64 = 0

    init(socketPaths: [String]) {
        var seen: [String] = []
        for path in socketPaths {
            let directory = Self.parent(of: path)
            if !seen.contains(directory) { seen.append(directory) }
        }
        directories = seen
    }

    /// The directory found deleted, when a check is due and one is.
    mutating func deletedDirectory(now: Int64) -> String? {
        guard now >= nextCheck else { return nil }
        nextCheck = now + Self.intervalNanoseconds
        for directory in directories where Self.isDeleted(directory) { return directory }
        return nil
    }

    /// A directory that stat() still reaches with no links left. A missing
    /// directory is not "deleted": chronyd may simply not have made it yet.
    static func isDeleted(_ directory: String) -> Bool {
        var info = stat()
        guard directory.withCString({ stat($0, &info) }) == 0 else { return false }
        return (info.st_mode & S_IFMT) == S_IFDIR && info.st_nlink == 0
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
