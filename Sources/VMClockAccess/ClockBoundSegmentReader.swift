#if canImport(Glibc)
import Glibc
#endif
import CVMClockCounter
import ClockBoundProtocol
import SystemPackage

/// Reads ClockBound's segment (protocol 2) as its clients do: mapped
/// read-only, the body copied under the generation seqlock (retried while
/// odd or changed, for a bounded time). `vmclockd now` and `wait` read with
/// it; what the reading means is `ClientMath`'s.
public final class ClockBoundSegmentReader {
    /// Why the segment gives no reading; each says what an operator checks.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Missing, or not readable by this user.
        case unreadable(path: String, reason: String)
        /// Shorter than a protocol-2 segment.
        case tooShort(path: String, bytes: Int)
        /// Another magic or size: not a ClockBound segment of this protocol.
        case foreign(path: String)
        /// Version (or generation) 0: its writer has not finished a first write.
        case notInitialised(path: String)
        case unsupportedVersion(path: String, version: UInt16)
        /// The generation stayed odd or kept changing: a writer died mid-write.
        case busy(path: String, generation: UInt16)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "\(path): \(reason)"
            case .tooShort(let path, let bytes): "\(path): \(bytes) bytes, shorter than a ClockBound segment (\(SegmentLayout.size))"
            case .foreign(let path): "\(path): not a ClockBound protocol-\(SegmentLayout.version) segment (magic or size differ)"
            case .notInitialised(let path): "\(path): not initialised (its writer has not written it yet)"
            case .unsupportedVersion(let path, let version):
                "\(path): segment version \(version) not supported (this reader reads version \(SegmentLayout.version))"
            case .busy(let path, let generation):
                "\(path): generation \(generation) stayed odd or kept changing (a writer stopped mid-write?)"
            }
        }
    }

    public let path: String
    private let descriptor: FileDescriptor
    private let bytes: UnsafeRawPointer
    public static let defaultTimeout: Duration = .milliseconds(100)

    public init(path: String) throws(Failure) {
        self.path = path
        let fd: FileDescriptor
        do throws(Errno) {
            fd = try FileDescriptor(opening: path, .readOnly, options: [.closeOnExec])
        } catch { throw .unreadable(path: path, reason: error.description) }
        do throws(Failure) {
            let size: Int
            do throws(Errno) { size = Int(try fd.stat().size) } catch { throw .unreadable(path: path, reason: error.description) }
            guard size >= Int(SegmentLayout.size) else { throw .tooShort(path: path, bytes: size) }
            guard let mapped = mmap(nil, Int(SegmentLayout.size), PROT_READ, MAP_SHARED, fd.rawValue, 0), mapped != MAP_FAILED
            else { throw .unreadable(path: path, reason: "mmap: \(Errno(rawValue: errno).description)") }
            (descriptor, bytes) = (fd, UnsafeRawPointer(mapped))
        } catch {
            fd.closeQuietly()
            throw error
        }
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes), Int(SegmentLayout.size))
        descriptor.closeQuietly()
    }

    /// A consistent copy of the body, once the header says it is a written
    /// protocol-2 segment.
    public func read(timeout: Duration = defaultTimeout) throws(Failure) -> SegmentBody {
        var wait = BusyWait(timeout: timeout)
        while true {
            let before = vmclock_load_acquire_u16(bytes + SegmentLayout.generationOffset)
            if before & 1 == 0 {
                let header = SegmentHeader(loading: bytes)
                let body = SegmentBody(loading: bytes)
                vmclock_read_barrier()
                if vmclock_load_acquire_u16(bytes + SegmentLayout.generationOffset) == before {
                    try Self.check(header, path: path)
                    return body
                }
            }
            guard wait.next() else { throw .busy(path: path, generation: before) }
        }
    }

    /// The header's verdict, as the official client's: magic and size first,
    /// then "not initialised" (0), then the version.
    static func check(_ header: SegmentHeader, path: String) throws(Failure) {
        guard header.magic == SegmentLayout.magic, header.size == SegmentLayout.size else { throw .foreign(path: path) }
        guard header.version != 0, header.generation != 0 else { throw .notInitialised(path: path) }
        guard header.version == SegmentLayout.version else {
            throw .unsupportedVersion(path: path, version: header.version)
        }
    }
}
