#if canImport(Glibc)
import Glibc
#endif

/// Lines from a descriptor (a pipe), each with a deadline, so a silent peer
/// fails the caller instead of hanging it. Waits in slices of 50 ms so an
/// interruption is seen.
final class LineReader {
    private let descriptor: Int32
    private var buffer: [UInt8] = []

    init(descriptor: Int32) { self.descriptor = descriptor }

    struct Timeout: Error, CustomStringConvertible {
        var description: String { "timed out waiting for a line" }
    }

    struct Closed: Error, CustomStringConvertible {
        var description: String { "end of output" }
    }

    /// The next line, waiting at most `seconds`.
    func next(within seconds: Double = 10) throws -> String {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            try checkInterruption()
            let remaining = deadline - monotonicNanoseconds()
            guard remaining > 0 else { throw Timeout() }
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(min(remaining / 1_000_000 + 1, 50))) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { throw Closed() }
            buffer += chunk[..<count]
        }
    }
}
