#if canImport(Glibc)
import Glibc
#endif
import ClockBoundProtocol
import DaemonPublication
import Foundation
import PeerHarness
import Synchronization
import Testing

/// A reader the project did not write, hammering the segment while the
/// daemon's writer rewrites it as fast as it can, never accepts a torn
/// read: every snapshot the PyPI client accepts is one whole write.
@Suite(.enabled(if: ClockBoundPythonClient.isAvailable(), "needs root and the Debian 13 root with the PyPI client (.ci/trixie-chrony)"))
struct TornReadTests {
    /// Write k: every field derived from k alone, so a mix of two writes shows.
    static func body(_ k: Int64) -> SegmentBody {
        SegmentBody(
            asOf: CoarseInstant(seconds: k, nanoseconds: k % 1_000_000_000),
            voidAfter: CoarseInstant(seconds: k + 5, nanoseconds: k % 1_000_000_000),
            boundNanoseconds: k * 3, disruptionMarker: UInt64(k) * 7, maxDriftPPB: UInt32(k % 1_000_000),
            status: k % 2 == 0 ? .synchronized : .freeRunning, disruptionSupport: k % 3 == 0)
    }

    @Test func thePyPIClientNeverAcceptsATornRead() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = try ClockBoundPythonClient(directory: dir.url.path)
        let path = dir.path("shm0")
        let stop = Atomic<Bool>(false)
        let written = Atomic<Int>(0)
        // The writer lives on its thread (it is the loop's, never shared).
        let writer = Thread {
            let file = ClockBoundSegmentFile(path: path) { _, _, _ in }
            var k: Int64 = 1
            while !stop.load(ordering: .relaxed) {
                if file.write(Self.body(k), now: k) { written.add(1, ordering: .relaxed) }
                k += 1
                // Let the reader's process run on a 2-core machine too. Under
                // emulation a write takes so long that back-to-back writes
                // left the Python reader no whole read for 62 s (seen in CI):
                // there, a gap after each write, as a daemon always leaves.
                if underEmulation { usleep(20) } else if k % 256 == 0 { sched_yield() }
            }
        }
        writer.start()
        while written.load(ordering: .relaxed) == 0 { usleep(1_000) }
        let reads = try client.read(path, forSeconds: 2)
        stop.store(true, ordering: .relaxed)
        while !writer.isFinished { usleep(1_000) }
        let snapshots = reads.compactMap(\.snapshot)
        #expect(snapshots.count > 100, "\(reads.count) reads")
        #expect(written.load(ordering: .relaxed) > 10_000)
        var generations = Set<UInt64>()
        for s in snapshots {
            let k = Int64(s.asOfSeconds)
            let expected = Self.body(k)
            generations.insert(s.generation)
            #expect(s.generation % 2 == 0, "an odd generation accepted: \(s)")
            #expect(s.asOfNanoseconds == UInt64(expected.asOf.nanoseconds) && s.voidAfterSeconds == UInt64(k + 5)
                    && s.bound == UInt64(k * 3) && s.disruptionMarker == UInt64(k) * 7
                    && s.maxDrift == UInt64(expected.maxDriftPPB) && s.clockStatus == UInt64(expected.statusValue)
                    && s.disruptionSupport == (k % 3 == 0 ? 1 : 0), "a torn read accepted: \(s)")
        }
        #expect(generations.count > 10, "the reads saw the writes move: \(generations.count) generations")
    }
}
