import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads lines from a pipe with a deadline, so a silent peer fails the test
/// instead of hanging it.
final class LineReader {
    private let descriptor: Int32
    private var buffer: [UInt8] = []

    init(_ handle: FileHandle) { descriptor = handle.fileDescriptor }

    struct Timeout: Error, CustomStringConvertible {
        var waitingFor: String
        var description: String { "timed out waiting for \(waitingFor)" }
    }

    struct Closed: Error {}

    /// The next line, waiting at most `seconds`.
    func next(within seconds: Double = 10) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Timeout(waitingFor: "a line") }
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(remaining * 1000) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { throw Closed() }
            buffer += chunk[..<count]
        }
    }
}
