import ChronyProtocol
import Foundation
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Polls `condition` every `every` seconds until it holds (true) or `within`
/// seconds pass (false), `deadlineScale` times that under emulation. The
/// condition is always tried at least once.
public func eventually(within seconds: Double, every interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds * deadlineScale)
    while true {
        if try condition() { return true }
        if Date() > deadline { return false }
        usleep(useconds_t(interval * 1e6))
    }
}

/// The simulator's acknowledgement's `published_ns`: CLOCK_REALTIME right
/// after the change was published.
public func publishedNanoseconds(_ ack: [String: String]) throws -> Int64 {
    try #require(ack["published_ns"].flatMap { Int64($0) }, "ack without published_ns: \(ack)")
}

/// A socket file's modification time, which is when it was bound (a later
/// chmod or chown would move its change time, not this), ns since the epoch.
public func creationTimeNanoseconds(_ path: String) -> Int64? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
}

/// A sample of this moment, as a feeder other than the daemon would send it:
/// tv from CLOCK_REALTIME truncated to µs (all a struct timeval holds),
/// `offset` = true time − system time.
public func sampleNow(offset: Double) -> SockSample {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return SockSample(
        systemSeconds: Int64(now.tv_sec), systemMicroseconds: Int64(now.tv_nsec) / 1000, offsetSeconds: offset, leap: .normal)
}

/// A measurement worth seeing in the test output even when the test passes.
public func measured(_ text: String) { print("DaemonRun measured: \(text)") }

/// Seconds as whole ns, for measurements.
public func ns(_ seconds: Double) -> String { String(format: "%.0f", seconds * 1e9) }

/// How far chronyd may be from the page across the whole chain (page,
/// daemon, chronyd): DaemonRunTests says where 250 ns comes from; under
/// emulation, plus the counter's microsecond.
public let chainToleranceSeconds: Double = 250e-9 + (underEmulation ? 1e-6 : 0)
