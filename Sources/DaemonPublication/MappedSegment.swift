#if canImport(Glibc)
import Glibc
#endif
import CVMClockCounter
import ClockBoundProtocol
import SystemPackage

/// ClockBound's segment file, open and mapped shared: the writer's end of
/// the generation seqlock. Every call is a load, a store or `fstat`: none
/// allocates.
struct MappedSegment {
    let descriptor: FileDescriptor
    let base: UnsafeMutableRawPointer
    static let length = Int(SegmentLayout.size)

    /// What became of the file since it was mapped.
    enum FileState { case inPlace, deleted, shortened }

    /// Maps the first 80 bytes of `descriptor` (a file at least that long);
    /// the mapping then owns the descriptor.
    init(mapping descriptor: FileDescriptor) throws(Errno) {
        let mapped = mmap(nil, Self.length, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor.rawValue, 0)
        guard let mapped, mapped != MAP_FAILED else { throw .last }
        (self.descriptor, base) = (descriptor, mapped)
    }

    var generation: UInt16 { vmclock_load_acquire_u16(base + SegmentLayout.generationOffset) }

    var header: SegmentHeader { SegmentHeader(loading: base) }

    /// Deleted (no name left) or cut shorter than the segment, where a
    /// store would raise SIGBUS: asked before each touch of the mapping.
    var state: FileState {
        var info = stat()
        guard fstat(descriptor.rawValue, &info) == 0 else { return .inPlace }  // cannot fail on an open descriptor
        if info.st_nlink == 0 { return .deleted }
        return info.st_size < Self.length ? .shortened : .inPlace
    }

    /// One update under the seqlock (odd, fence, body, fence, even), then
    /// version 2 if it was not yet: a client sees the segment initialised
    /// only once it holds a whole body. The generation it leaves.
    func store(_ body: SegmentBody, after current: UInt16) -> UInt16 {
        let odd = Generation.writing(after: current)
        vmclock_store_u16(base + SegmentLayout.generationOffset, odd)
        vmclock_write_barrier()
        body.store(into: base)
        vmclock_write_barrier()
        let even = Generation.written(after: odd)
        vmclock_store_u16(base + SegmentLayout.generationOffset, even)
        let version = base + SegmentLayout.versionOffset
        if vmclock_load_acquire_u16(version) != SegmentLayout.version { vmclock_store_u16(version, SegmentLayout.version) }
        return even
    }

    func close() {
        munmap(base, Self.length)
        descriptor.closeQuietly()
    }
}
