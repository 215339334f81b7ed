#if canImport(Glibc)
import Glibc
#endif
import CVMClockCounter
import SystemPackage
import VMClockPage
import VMClockSystem

/// An open vmclock device (or any file holding a page). Maps exactly one page
/// read-only and takes seqlock-consistent snapshots; falls back to pread()
/// where mapping is refused or the file is shorter than a page.
public final class VMClockDevice {
    public enum ReadMethod: String, Sendable { case mmap, pread }

    public let path: String
    public let readMethod: ReadMethod
    private let descriptor: FileDescriptor
    private let identity: FileIdentity
    /// The mapped page (mmap) or the pread buffer, `readableBytes` long.
    private let bytes: UnsafeMutableRawPointer
    private let readableBytes: Int

    public static let defaultPath = PageLayout.devicePath
    /// The Linux driver gives up after 100 ms; so does this reader.
    public static let defaultTimeout: Duration = .milliseconds(100)

    /// Opens `path`. `allowMapping: false` forces the pread() path (tests,
    /// and hosts whose mapping misbehaves).
    public init(path: String = defaultPath, allowMapping: Bool = true) throws(DeviceError) {
        self.path = path
        let fd: FileDescriptor
        do throws(Errno) {
            fd = try FileDescriptor(opening: path, .readOnly, options: [.closeOnExec])
        } catch { throw DeviceError(path: path, errno: error) }
        do throws(DeviceError) {
            let info = try FileIdentity(descriptor: fd, path: path)
            let region = try Self.mapOrAllocate(
                fd, fileSize: info.regularFileSize, path: path, allowMapping: allowMapping)
            (descriptor, identity, bytes, readableBytes, readMethod) =
                (fd, info, region.bytes, region.count, region.method)
        } catch {
            fd.closeQuietly()
            throw error
        }
    }

    deinit {
        switch readMethod {
        case .mmap: munmap(bytes, PageLayout.pageSize)
        case .pread: bytes.deallocate()
        }
        descriptor.closeQuietly()
    }

    private static func mapOrAllocate(
        _ fd: FileDescriptor, fileSize: Int?, path: String, allowMapping: Bool
    ) throws(DeviceError) -> (bytes: UnsafeMutableRawPointer, count: Int, method: ReadMethod) {
        if let fileSize, fileSize < PageLayout.minimumSize { throw .tooShort(path: path, bytes: fileSize) }
        // A regular file shorter than a page is read, not mapped: the
        // readable extent is then the file's, as it would be for a host
        // that maps less than a page.
        if allowMapping, fileSize ?? PageLayout.pageSize >= PageLayout.pageSize {
            let mapped = mmap(nil, PageLayout.pageSize, PROT_READ, MAP_SHARED, fd.rawValue, 0)
            if let mapped, mapped != MAP_FAILED { return (mapped, PageLayout.pageSize, .mmap) }
        }
        let count = min(fileSize ?? PageLayout.pageSize, PageLayout.pageSize)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: PageLayout.pageSize, alignment: 8)
        return (buffer, count, .pread)
    }

    /// One consistent, structurally valid page. Retries while the host is
    /// mid-update (odd or changing seq_count) and gives up after `timeout`.
    public func snapshot(timeout: Duration = defaultTimeout) throws(SnapshotError) -> VMClockPage {
        switch readMethod {
        case .mmap: try mappedSnapshot(timeout: timeout)
        case .pread: try readSnapshot(timeout: timeout)
        }
    }

    /// True while the page is still the one `page` was decoded from:
    /// seq_count, disruption_marker and, where the host keeps one,
    /// vm_generation_counter all as they were, read together under the
    /// seqlock. seq_count alone is not enough: a host that builds a fresh
    /// page on a migration's destination may repeat a count this reader saw;
    /// the marker never repeats. Three loads on a mapping (four with a
    /// generation counter), no retry: a count that moved, or is odd, already
    /// means "changed".
    public func isUnchanged(since page: VMClockPage) -> Bool {
        (try? stillShows(page)) ?? false
    }

    var isCharacterDevice: Bool { identity.isCharacterDevice }
    var fileDescriptor: Int32 { descriptor.rawValue }

    /// True when `path` now names another file, or none: the device went
    /// away (hot-unplug, or a simulator's page was replaced) and must be reopened.
    public var isReplaced: Bool {
        guard let now = try? FileIdentity(path: path) else { return true }
        return now != identity
    }

    // MARK: - seqlock loops

    private func mappedSnapshot(timeout: Duration) throws(SnapshotError) -> VMClockPage {
        var wait = BusyWait(timeout: timeout)
        let page = UnsafeRawBufferPointer(start: bytes, count: readableBytes)
        while true {
            let before = vmclock_load_acquire_u32(bytes + PageLayout.seqCount)
            if before & 1 == 0 {
                let decoded = Result { () throws(PageError) in try VMClockPage(bytes: page) }
                vmclock_read_barrier()
                let after = vmclock_load_acquire_u32(bytes + PageLayout.seqCount)
                // A torn decode may fail validation; only a stable one counts.
                if after == before { return try decoded.mapError(SnapshotError.page).get() }
            }
            guard wait.next() else { throw .busy(seqCount: before, timeout: timeout) }
        }
    }

    private func readSnapshot(timeout: Duration) throws(SnapshotError) -> VMClockPage {
        var wait = BusyWait(timeout: timeout)
        let buffer = UnsafeMutableRawBufferPointer(start: bytes, count: PageLayout.pageSize)
        while true {
            // seq_count is read by its own pread before and after the page:
            // the copy inside one read() may load its bytes in any order
            // (x86 fast strings), so the page's own seq_count proves nothing
            // about the fields copied with it. The real driver does this
            // loop itself; a regular file needs it here.
            let before = try currentSeqCount()
            vmclock_read_barrier()
            let count = try readAt(0, into: buffer)
            vmclock_read_barrier()
            let page = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            let copied = UInt32(littleEndian: page.loadUnaligned(fromByteOffset: PageLayout.seqCount, as: UInt32.self))
            if before & 1 == 0, copied == before, try currentSeqCount() == before {
                do { return try VMClockPage(bytes: page) } catch { throw .page(error) }
            }
            guard wait.next() else { throw .busy(seqCount: before, timeout: timeout) }
        }
    }

    /// seq_count, barrier, identity fields, barrier, seq_count: the order of
    /// a snapshot, for the fields whose change is a disruption.
    private func stillShows(_ page: VMClockPage) throws(SnapshotError) -> Bool {
        guard try currentSeqCount() == page.seqCount else { return false }
        vmclock_read_barrier()
        guard try field(PageLayout.disruptionMarker) == page.disruptionMarker else { return false }
        // The rest of the page's identity (size, version, counter_id, and
        // time_type beside them): two more loads.
        guard try word(PageLayout.size) == page.size, try word(PageLayout.version) == Self.versionWord(page) else { return false }
        if let generation = page.flaggedGenerationCounter {
            guard try field(PageLayout.vmGenerationCounter) == generation else { return false }
        }
        vmclock_read_barrier()
        return try currentSeqCount() == page.seqCount
    }

    private func currentSeqCount() throws(SnapshotError) -> UInt32 {
        switch readMethod {
        case .mmap: vmclock_load_acquire_u32(bytes + PageLayout.seqCount)
        // A short read is "odd": never a count a snapshot returned.
        case .pread: try readField(PageLayout.seqCount, as: UInt32.self) ?? 1
        }
    }

    /// A 64-bit field at `offset` (8-byte aligned); nil if it could not be read.
    private func field(_ offset: Int) throws(SnapshotError) -> UInt64? {
        switch readMethod {
        case .mmap: vmclock_load_u64(bytes + offset)
        case .pread: try readField(offset, as: UInt64.self)
        }
    }

    /// A 32-bit word at `offset` (4-byte aligned); nil if it could not be read.
    private func word(_ offset: Int) throws(SnapshotError) -> UInt32? {
        switch readMethod {
        case .mmap: vmclock_load_acquire_u32(bytes + offset)
        case .pread: try readField(offset, as: UInt32.self)
        }
    }

    /// version, counter_id and time_type as the little-endian word at offset 8.
    private static func versionWord(_ page: VMClockPage) -> UInt32 {
        UInt32(page.version) | UInt32(page.counterID) << 16 | UInt32(page.timeType) << 24
    }

    /// One field by its own pread (see readSnapshot for why); nil if short.
    private func readField<Field: FixedWidthInteger>(_ offset: Int, as: Field.Type) throws(SnapshotError) -> Field? {
        var raw = Field.zero
        let count = try withUnsafeMutableBytes(of: &raw) { (buffer) throws(SnapshotError) in
            try readAt(Int64(offset), into: buffer)
        }
        return count == MemoryLayout<Field>.size ? Field(littleEndian: raw) : nil
    }

    private func readAt(_ offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(SnapshotError) -> Int {
        let count: Int
        do throws(Errno) {
            count = try descriptor.readSome(into: buffer, at: offset)
        } catch {
            // The driver's read() gives the host 100 ms to finish an update,
            // then says ETIMEDOUT: the page is busy, the device is fine.
            if error == .timedOut { throw .busy(seqCount: 1, timeout: Self.defaultTimeout) }
            throw .device(DeviceError(path: path, errno: error))
        }
        if offset == 0, count < PageLayout.minimumSize { throw .device(.tooShort(path: path, bytes: count)) }
        return count
    }
}
