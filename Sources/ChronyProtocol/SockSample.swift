/// One sample for chronyd's SOCK refclock driver (refclock_sock.c): exactly
/// `struct sock_sample` in native byte order, 40 bytes on 64-bit Linux.
/// chronyd silently drops a shorter datagram or one with another magic
/// (4.3 reads the first 40 bytes of a longer one; we never send one).
public struct SockSample: Sendable, Equatable {
    /// The leap field: what chronyd should do at the end of this day.
    public enum Leap: Int32, Sendable {
        case normal = 0, insertSecond = 1, deleteSecond = 2
    }

    public static let magic: Int32 = 0x534f_434b  // "SOCK"
    public static let byteCount = 40

    /// System time of the measurement (struct timeval).
    public var systemSeconds: Int64
    public var systemMicroseconds: Int64
    /// True time − system time at that instant, seconds.
    public var offsetSeconds: Double
    public var leap: Leap

    public init(systemSeconds: Int64, systemMicroseconds: Int64, offsetSeconds: Double, leap: Leap) {
        self.systemSeconds = systemSeconds
        self.systemMicroseconds = systemMicroseconds
        self.offsetSeconds = offsetSeconds
        self.leap = leap
    }

    /// tv (16: tv_sec, tv_usec) · offset (8) · pulse (4, 0: not a PPS pulse)
    /// · leap (4) · _pad (4) · magic (4).
    public func encode() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.byteCount) { buffer, count in
            encode(into: UnsafeMutableRawBufferPointer(buffer))
            count = Self.byteCount
        }
    }

    /// The same bytes into `buffer` (at least `byteCount` long), so a send
    /// needs no heap allocation.
    public func encode(into b: UnsafeMutableRawBufferPointer) {
        precondition(b.count >= Self.byteCount)
        b.storeBytes(of: systemSeconds, toByteOffset: 0, as: Int64.self)
        b.storeBytes(of: systemMicroseconds, toByteOffset: 8, as: Int64.self)
        b.storeBytes(of: offsetSeconds, toByteOffset: 16, as: Double.self)
        b.storeBytes(of: Int32(0), toByteOffset: 24, as: Int32.self)
        b.storeBytes(of: leap.rawValue, toByteOffset: 28, as: Int32.self)
        b.storeBytes(of: Int32(0), toByteOffset: 32, as: Int32.self)
        b.storeBytes(of: Self.magic, toByteOffset: 36, as: Int32.self)
    }
}
