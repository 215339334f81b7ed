#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

// Thin typed wrappers for the calls the daemon makes in more than one place,
// after swift-system's own (FileDescriptor, Errno): a failure is a typed
// `throws(Errno)`, which does not box on the heap. swift-system's `open`,
// `read` and `write` throw untyped errors, boxed: a look at a page that fails
// at every look must not allocate.

extension Errno {
    /// What the C call that just failed left in `errno`.
    package static var last: Errno { Errno(rawValue: errno) }
}

extension FileDescriptor {
    /// `open(2)`: `path` opened with `access` and `options`, created with
    /// `permissions` (then subject to the umask) when `.create` is among them.
    package init(
        opening path: String, _ access: AccessMode, options: OpenOptions = [], permissions: FilePermissions = []
    ) throws(Errno) {
        // A native string lends its own bytes, no copy.
        let fd = path.withCString { Glibc.open($0, access.rawValue | options.rawValue, permissions.rawValue) }
        guard fd >= 0 else { throw .last }
        self.init(rawValue: fd)
    }

    /// `read(2)` into `buffer`, retried when interrupted: the bytes read, 0 at the end.
    package func readSome(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        while true {
            let count = Glibc.read(rawValue, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw .last }
        }
    }

    /// `pread(2)` into `buffer` from `offset`, retried when interrupted.
    package func readSome(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        while true {
            let count = Glibc.pread(rawValue, buffer.baseAddress, buffer.count, off_t(offset))
            if count >= 0 { return count }
            if errno != EINTR { throw .last }
        }
    }

    /// `write(2)` until every byte is written (a short write goes on).
    package func writeEvery(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var written = 0
        while written < bytes.count {
            let count = Glibc.write(rawValue, bytes.baseAddress! + written, bytes.count - written)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw count < 0 ? .last : .ioError }
            written += count
        }
    }

    /// `fchmod(2)`: the mode whatever the umask was at creation.
    package func setPermissions(_ permissions: FilePermissions) throws(Errno) {
        guard fchmod(rawValue, permissions.rawValue) == 0 else { throw .last }
    }

    /// `fsync(2)`: the file's data (or a directory's entries) on disk.
    package func sync() throws(Errno) {
        guard fsync(rawValue) == 0 else { throw .last }
    }

    /// `close(2)`, for a descriptor whose use is over either way.
    package func closeQuietly() { _ = Glibc.close(rawValue) }
}

extension FileDescriptor.OpenOptions {
    /// O_NOCTTY: a terminal opened never becomes the process's controlling one.
    package static var noControllingTerminal: Self { .init(rawValue: O_NOCTTY) }
}

extension Stat {
    /// `stat(2)` of `path`. A native string lends its own bytes here;
    /// `Stat(_: UnsafePointer<CChar>)` given a String copies it into an
    /// array first, an allocation at every call (the device's path is
    /// checked once a second).
    package init(path: String) throws(Errno) {
        var info = CInterop.Stat()
        guard path.withCString({ statCall($0, &info) }) == 0 else { throw .last }
        self.init(rawValue: info)
    }
}

/// The C function, out of `Stat`'s scope (where `stat` names the struct).
private func statCall(_ path: UnsafePointer<CChar>, _ info: inout CInterop.Stat) -> Int32 { stat(path, &info) }
