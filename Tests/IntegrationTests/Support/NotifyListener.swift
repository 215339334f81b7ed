import Foundation
import TestSupport
import PeerHarness
import Testing

/// A NOTIFY_SOCKET of the test's own, recording every datagram with its arrival time.
final class NotifyListener {
    struct Message {
        var message: String
        var received: Date
    }

    let path: String
    private let descriptor: Int32
    private var received: [Message] = []

    init(path: String) throws {
        self.path = path
        descriptor = try boundDatagramSocket(path)
    }

    deinit { close(descriptor) }

    struct Timeout: Error {}

    /// Receives (each datagram may hold several newline-separated
    /// assignments) until `done` holds for everything received since the
    /// last call, or `seconds` pass.
    func collect(within seconds: Double, until done: ([Message]) -> Bool) throws -> [Message] {
        let deadline = Date().addingTimeInterval(seconds)
        var batch: [Message] = []
        while !done(batch) {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Timeout() }
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(remaining * 1000) + 1) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { continue }
            let now = Date()
            for line in String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n") {
                batch.append(Message(message: String(line), received: now))
            }
        }
        received += batch
        return batch
    }
}

extension [NotifyListener.Message] {
    func contains(where predicate: (String) -> Bool) -> Bool { contains { predicate($0.message) } }
}
