/// ClockBound's shared-memory segment, protocol version 2 (aws/clock-bound,
/// docs/PROTOCOL.md): 80 bytes in the machine's byte order, read by every
/// ClockBound client (Rust, C, Python) from `/run/clockbound/shm0`. Pure:
/// offsets, values and the encoding; the file is `DaemonPublication`'s.
public enum SegmentLayout {
    /// The path every ClockBound client opens by default.
    public static let defaultPath = "/run/clockbound/shm0"
    /// Two native-endian u32 (clients compare them as such).
    public static let magic: (UInt32, UInt32) = (0x414D_5A4E, 0x4342_0200)
    public static let size: UInt32 = 80
    public static let version: UInt16 = 2

    public static let magicOffset = 0
    public static let sizeOffset = 8
    public static let versionOffset = 12
    public static let generationOffset = 14
    /// Where the body (`SegmentBody`) starts: everything the seqlock guards.
    public static let bodyOffset = 16
    public static let bodySize = 64
}

/// What the segment says of the clock, as its clients read it.
public enum SegmentStatus: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case unknown = 0
    case synchronized = 1
    case freeRunning = 2
    case disrupted = 3

    /// The protocol's own names, for status lines and metrics labels.
    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .synchronized: "synchronized"
        case .freeRunning: "free-running"
        case .disrupted: "disrupted"
        }
    }
}

/// A CLOCK_MONOTONIC_COARSE instant as the segment stores it (a timespec).
public struct CoarseInstant: Sendable, Equatable, Comparable {
    public var seconds: Int64
    public var nanoseconds: Int64

    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// From nanoseconds since the clock's origin (never negative here).
    public init(nanoseconds total: Int64) {
        seconds = total / 1_000_000_000
        nanoseconds = total % 1_000_000_000
    }

    /// Nanoseconds since the clock's origin; 128-bit, so a stored value
    /// nobody checked cannot trap.
    public var totalNanoseconds: Int128 { Int128(seconds) * 1_000_000_000 + Int128(nanoseconds) }

    public static func < (a: Self, b: Self) -> Bool { a.totalNanoseconds < b.totalNanoseconds }
}

/// The part of the segment the generation seqlock guards (offsets 16–79).
public struct SegmentBody: Sendable, Equatable {
    public var asOf: CoarseInstant
    public var voidAfter: CoarseInstant
    /// The most CLOCK_REALTIME may differ from true time at `asOf`, ns.
    public var boundNanoseconds: Int64
    /// The vmclock marker the bound was computed under.
    public var disruptionMarker: UInt64
    /// How fast the bound grows after `asOf`, parts per billion.
    public var maxDriftPPB: UInt32
    /// The raw status: a foreign segment may hold anything.
    public var statusValue: Int32
    /// Clients compare `disruptionMarker` with the device's themselves.
    public var disruptionSupport: Bool

    public init(
        asOf: CoarseInstant, voidAfter: CoarseInstant, boundNanoseconds: Int64, disruptionMarker: UInt64,
        maxDriftPPB: UInt32, status: SegmentStatus, disruptionSupport: Bool
    ) {
        self.asOf = asOf
        self.voidAfter = voidAfter
        self.boundNanoseconds = boundNanoseconds
        self.disruptionMarker = disruptionMarker
        self.maxDriftPPB = maxDriftPPB
        statusValue = status.rawValue
        self.disruptionSupport = disruptionSupport
    }

    /// nil for a value no version-2 writer may write.
    public var status: SegmentStatus? { SegmentStatus(rawValue: statusValue) }

    /// Into the mapped segment at `segment` (its start), without allocating;
    /// the caller holds the generation odd meanwhile.
    public func store(into segment: UnsafeMutableRawPointer) {
        let b = segment + SegmentLayout.bodyOffset
        b.storeBytes(of: asOf.seconds, toByteOffset: 0, as: Int64.self)
        b.storeBytes(of: asOf.nanoseconds, toByteOffset: 8, as: Int64.self)
        b.storeBytes(of: voidAfter.seconds, toByteOffset: 16, as: Int64.self)
        b.storeBytes(of: voidAfter.nanoseconds, toByteOffset: 24, as: Int64.self)
        b.storeBytes(of: boundNanoseconds, toByteOffset: 32, as: Int64.self)
        b.storeBytes(of: disruptionMarker, toByteOffset: 40, as: UInt64.self)
        b.storeBytes(of: maxDriftPPB, toByteOffset: 48, as: UInt32.self)
        b.storeBytes(of: statusValue, toByteOffset: 52, as: Int32.self)
        b.storeBytes(of: UInt8(disruptionSupport ? 1 : 0), toByteOffset: 56, as: UInt8.self)
        for pad in 57..<64 { b.storeBytes(of: UInt8(0), toByteOffset: pad, as: UInt8.self) }
    }

    /// From a segment's bytes (at least 80); no validation of the header.
    public init(loading segment: UnsafeRawPointer) {
        let b = segment + SegmentLayout.bodyOffset
        asOf = CoarseInstant(
            seconds: b.loadUnaligned(fromByteOffset: 0, as: Int64.self),
            nanoseconds: b.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        voidAfter = CoarseInstant(
            seconds: b.loadUnaligned(fromByteOffset: 16, as: Int64.self),
            nanoseconds: b.loadUnaligned(fromByteOffset: 24, as: Int64.self))
        boundNanoseconds = b.loadUnaligned(fromByteOffset: 32, as: Int64.self)
        disruptionMarker = b.loadUnaligned(fromByteOffset: 40, as: UInt64.self)
        maxDriftPPB = b.loadUnaligned(fromByteOffset: 48, as: UInt32.self)
        statusValue = b.loadUnaligned(fromByteOffset: 52, as: Int32.self)
        disruptionSupport = b.loadUnaligned(fromByteOffset: 56, as: UInt8.self) != 0
    }
}
