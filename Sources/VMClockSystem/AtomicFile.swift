#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A small file replaced whole, so a reader sees the old contents or the
/// new, never a mix; and read whole, up to a limit. The one writer and the
/// one reader of the daemon's and the CLI's files (status, metrics, the
/// stored page identity, chronyd's snippet, the config file, /proc).
public enum AtomicFile {
    /// A step of a replacement that failed: what was being done, to which
    /// path, and the errno ("cannot sync /run/vmclockd/.status.json.Ab12Cd: …").
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var what: String
        public var path: String
        public var errno: Errno
        public var description: String { "cannot \(what) \(path): \(errno)" }
    }

    /// Replaces `path` with `contents`, mode `mode` whatever the umask: a
    /// temporary file beside it (its own unique name: two writers never
    /// share one), written, renamed over `path`. `durable`: the file synced
    /// before the rename and the directory after it, so a crash leaves the
    /// old file or the whole new one (the stored identity, chronyd's
    /// snippet); files rewritten at every publication and withdrawn at a
    /// stop (status, metrics) skip the syncs, each a wait on the disk. On
    /// failure the old file is left as it was and the temporary one removed.
    public static func replace(_ path: String, with contents: String, mode: mode_t, durable: Bool) throws(Failure) {
        let (directory, name) = split(path)
        let (file, temporary) = try createTemporary(named: name, in: directory)
        do throws(Failure) {
            try fill(file, at: temporary, with: contents, mode: mode, sync: durable)
        } catch {
            file.closeQuietly()
            unlink(temporary)
            throw error
        }
        file.closeQuietly()
        guard rename(temporary, path) == 0 else {
            let failure = Failure(what: "rename \(temporary) to", path: path, errno: .last)
            unlink(temporary)
            throw failure
        }
        // Best effort: the new file is in place either way.
        if durable, let entries = try? FileDescriptor(opening: directory, .readOnly, options: [.directory, .closeOnExec]) {
            try? entries.sync()
            entries.closeQuietly()
        }
    }

    /// A new file of this process's own beside the target (mkstemp: mode
    /// 0600 until filled), and its path.
    private static func createTemporary(named name: String, in directory: String) throws(Failure) -> (FileDescriptor, String) {
        var template = Array("\(directory)/.\(name).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Failure(what: "create a file in", path: directory, errno: .last) }
        return (FileDescriptor(rawValue: fd), template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    /// Writes `contents`, sets `mode` and, with `sync`, puts it all on disk before the rename.
    private static func fill(
        _ file: FileDescriptor, at temporary: String, with contents: String, mode: mode_t, sync: Bool
    ) throws(Failure) {
        var text = contents
        // withUTF8 rethrows untyped: the errno comes out as a value.
        let unwritten: Errno? = text.withUTF8 { utf8 in
            do throws(Errno) { try file.writeEvery(UnsafeRawBufferPointer(utf8)) } catch { return error }
            return nil
        }
        if let unwritten { throw Failure(what: "write", path: temporary, errno: unwritten) }
        do throws(Errno) { try file.setPermissions(FilePermissions(rawValue: mode)) } catch {
            throw Failure(what: "chmod", path: temporary, errno: error)
        }
        guard sync else { return }
        do throws(Errno) { try file.sync() } catch { throw Failure(what: "sync", path: temporary, errno: error) }
    }

    /// The file's whole contents; `.fileTooLarge` if it holds more than
    /// `limit` bytes (no file read here is anywhere near its limit: a larger
    /// one is the wrong file).
    public static func read(_ path: String, limit: Int) throws(Errno) -> String {
        let file = try FileDescriptor(opening: path, .readOnly, options: [.closeOnExec])
        defer { file.closeQuietly() }
        // One byte more than the limit tells a file at the limit from a larger one.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: limit + 1, alignment: 1)
        defer { buffer.deallocate() }
        var count = 0
        while count <= limit {
            let got = try file.readSome(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
            if got == 0 { return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[..<count]), as: UTF8.self) }
            count += got
        }
        throw .fileTooLarge
    }

    /// "/run/vmclockd/status.json" → ("/run/vmclockd", "status.json");
    /// a bare name is in ".".
    package static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        return (directory, String(path[path.index(after: slash)...]))
    }
}
