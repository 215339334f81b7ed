#if canImport(Glibc)
import Glibc
#endif
import CVMClockCounter
import SystemPackage
import VMClockPage

/// The host's side of the page: a file of one page, mapped shared, updated
/// under the seqlock protocol (seq odd, barrier, fields, barrier, seq even).
public final class PageWriter {
    public let path: String
    private let page: UnsafeMutableRawPointer
    public private(set) var seqCount: UInt32 = 0
    /// Pause between word stores while seq_count is odd, so readers race a
    /// slow host and must retry.
    public var writeDelayMicroseconds: UInt32 = 0
    /// Each update ends at the count it started from (seq odd while writing,
    /// then even again at the same value): only the fields say it changed.
    public var keepsSeqCount = false

    /// Creates the file under a temporary name and renames it into place, so a
    /// reader never opens a half-made page.
    public init(path: String) throws {
        self.path = path
        let temporary = path + ".tmp-\(getpid())"
        let fd = try FileDescriptor.open(
            temporary, .readWrite, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        defer { try? fd.close() }
        guard ftruncate(fd.rawValue, off_t(PageLayout.pageSize)) == 0 else { throw Errno(rawValue: errno) }
        let mapped = mmap(nil, PageLayout.pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, 0)
        guard let mapped, mapped != MAP_FAILED else { throw Errno(rawValue: errno) }
        page = mapped
        guard rename(temporary, path) == 0 else { throw Errno(rawValue: errno) }
    }

    deinit { munmap(page, PageLayout.pageSize) }

    /// Publishes `image` as one seqlock update. While stalled, the fields
    /// change but seq_count stays odd: readers must still see "busy".
    public func publish(_ image: PageImage) {
        let stalled = seqCount & 1 == 1
        let started = seqCount
        if !stalled { beginUpdate() }
        let bytes = image.encode()
        bytes.withUnsafeBytes { b in
            // Bytes 8..<12 (version, counter_id, time_type) share a word with
            // seq_count, so they go as one 32-bit store; the rest as 64-bit words.
            vmclock_store_u32(page + 8, b.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            for offset in stride(from: 0, to: bytes.count, by: 8) where offset != 8 {
                vmclock_store_u64(page + offset, b.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                if writeDelayMicroseconds > 0 { usleep(writeDelayMicroseconds) }
            }
        }
        if !stalled { endUpdate(at: keepsSeqCount ? started : nil) }
    }

    /// Leaves seq_count odd, as a host stuck mid-update would.
    public func stall() {
        if seqCount & 1 == 0 { beginUpdate() }
    }

    public func unstall() {
        if seqCount & 1 == 1 { endUpdate() }
    }

    private func beginUpdate() {
        seqCount &+= 1
        vmclock_store_u32(page + PageLayout.seqCount, seqCount.littleEndian)
        vmclock_write_barrier()
    }

    private func endUpdate(at count: UInt32? = nil) {
        vmclock_write_barrier()
        seqCount = count ?? seqCount &+ 1
        vmclock_store_u32(page + PageLayout.seqCount, seqCount.littleEndian)
    }

    /// Removes the file; a reader holding it open keeps a frozen copy.
    public func unlink() { Glibc.unlink(path) }
}
