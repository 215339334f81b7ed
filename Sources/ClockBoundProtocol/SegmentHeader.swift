/// The segment's first 16 bytes: what identifies it, and the seqlock.
public struct SegmentHeader: Sendable, Equatable {
    public var magic: (UInt32, UInt32)
    public var size: UInt32
    /// 0 until the first complete write.
    public var version: UInt16
    /// Odd while the writer writes; 0 never after the first write.
    public var generation: UInt16

    public init(magic: (UInt32, UInt32), size: UInt32, version: UInt16, generation: UInt16) {
        self.magic = magic
        self.size = size
        self.version = version
        self.generation = generation
    }

    /// A fresh segment's header: recognisable, but not yet written.
    public static let fresh = SegmentHeader(
        magic: SegmentLayout.magic, size: SegmentLayout.size, version: 0, generation: 0)

    public init(loading segment: UnsafeRawPointer) {
        magic = (segment.loadUnaligned(fromByteOffset: 0, as: UInt32.self),
                 segment.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        size = segment.loadUnaligned(fromByteOffset: SegmentLayout.sizeOffset, as: UInt32.self)
        version = segment.loadUnaligned(fromByteOffset: SegmentLayout.versionOffset, as: UInt16.self)
        generation = segment.loadUnaligned(fromByteOffset: SegmentLayout.generationOffset, as: UInt16.self)
    }

    public func store(into segment: UnsafeMutableRawPointer) {
        segment.storeBytes(of: magic.0, toByteOffset: 0, as: UInt32.self)
        segment.storeBytes(of: magic.1, toByteOffset: 4, as: UInt32.self)
        segment.storeBytes(of: size, toByteOffset: SegmentLayout.sizeOffset, as: UInt32.self)
        segment.storeBytes(of: version, toByteOffset: SegmentLayout.versionOffset, as: UInt16.self)
        segment.storeBytes(of: generation, toByteOffset: SegmentLayout.generationOffset, as: UInt16.self)
    }

    /// A ClockBound segment of this protocol's size, written or not: one a
    /// writer may take over in place (clients may have mapped it).
    public var isClockBoundSegment: Bool {
        magic == SegmentLayout.magic && size == SegmentLayout.size && (version == 0 || version == SegmentLayout.version)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.magic == b.magic && a.size == b.size && a.version == b.version && a.generation == b.generation
    }
}

/// The generation seqlock's arithmetic (PROTOCOL.md): odd while writing,
/// even once written; past 65535 it goes to 2, never 0 (0 means "never
/// written").
public enum Generation {
    /// The odd value a write starts with, from the current one. An odd
    /// current value (a writer that died mid-write) is kept.
    public static func writing(after current: UInt16) -> UInt16 {
        current & 1 == 1 ? current : current &+ 1
    }

    /// The even value that ends the write begun with `odd`.
    public static func written(after odd: UInt16) -> UInt16 {
        let next = odd &+ 1
        return next == 0 ? 2 : next
    }
}
