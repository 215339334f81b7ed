import Foundation
import PeerHarness
import TestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What applications read: `vmclockd now` and the PyPI ClockBound client
/// (a client the project did not write), on segments written by hand from
/// PROTOCOL.md. Status values: 0 unknown, 1 synchronized, 2 free-running,
/// 3 disrupted.
@Suite struct ClockBoundClient {
    /// `now --json`, parsed with Foundation's parser (not the daemon's).
    func now(_ arguments: [String]) throws -> (status: Int32, json: [String: Any], text: String) {
        let run = try runVMClockd(["now", "--config", "none", "--json"] + arguments)
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] ?? [:]
        return (run.status, json, run.stdout)
    }

    func integer(_ json: [String: Any], _ key: String) -> Int128? { (json[key] as? String).flatMap { Int128($0) } }

    @Test func nowReportsEachStatusWithItsExitStatus() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("shm0")
        for (status, name, exit) in [(Int32(1), "synchronized", Int32(0)), (2, "free-running", 3), (0, "unknown", 1), (3, "disrupted", 1)] {
            let segment = HandSegment(status: status)
            try segment.write(to: path)
            let before = realtimeNanoseconds()
            let result = try now(["--segment", path])
            let after = realtimeNanoseconds()
            let elapsed = Int128(HandSegment.coarseNow() - segment.asOf)
            #expect(result.status == exit, "\(name): \(result.text)")
            #expect(result.json["status"] as? String == name, "\(result.text)")
            let earliest = try #require(integer(result.json, "earliest")), latest = try #require(integer(result.json, "latest"))
            let bound = try #require(integer(result.json, "bound"))
            // 1 µs, grown at 15 ppm over no more than the time from as_of until `now` returned, rounded up.
            #expect(bound >= 1_000 && bound <= 1_000 + (elapsed * 15_000 + 999_999_999) / 1_000_000_000, "\(result.text)")
            #expect(latest - earliest == 2 * bound)
            #expect((earliest + latest) / 2 >= Int128(before) && (earliest + latest) / 2 <= Int128(after), "\(result.text)")
        }
        // Synchronized data not refreshed for 5 s is free-running, then unknown past void_after.
        try HandSegment(status: 1, asOfAgo: 6).write(to: path)
        #expect(try now(["--segment", path]).status == 3)
        var voided = HandSegment(status: 1, asOfAgo: 8)
        voided.voidAfter = voided.asOf + 7_000_000_000
        try voided.write(to: path)
        let stale = try now(["--segment", path])
        #expect(stale.status == 1 && stale.json["status"] as? String == "unknown", "\(stale.text)")
        // The text form says the same.
        let text = try runVMClockd(["now", "--config", "none", "--segment", path])
        #expect(text.status == 1 && text.stdout.contains("unknown") && text.stdout.contains("earliest"), "\(text.stdout)")
    }

    @Test func nowRefusesASegmentItCannotRead() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("shm0")
        func refused(_ words: String, _ edit: (inout HandSegment) -> Void) throws {
            var segment = HandSegment(status: 1)
            edit(&segment)
            try segment.write(to: path)
            let result = try now(["--segment", path])
            #expect(result.status == 2, "\(words): \(result.text)")
            #expect((result.json["problem"] as? String)?.contains(words) == true, "\(result.text)")
            #expect(result.json["earliest"] is NSNull && result.json["bound"] is NSNull)
        }
        try refused("not initialised") { $0.version = 0; $0.generation = 0 }
        try refused("version 1 not supported") { $0.version = 1 }
        try refused("not a ClockBound") { $0.magic.1 = 0x4342_0100 }
        try refused("status or drift") { $0.status = 4 }
        try refused("later than this reader's") { $0.asOf += 2_000_000_000 }
        try refused("stayed odd") { $0.generation = 7 }
        unlink(path)
        let missing = try now(["--segment", path])
        #expect(missing.status == 2 && (missing.json["problem"] as? String)?.contains("No such file") == true, "\(missing.text)")
        try writeFile(path, "short")
        #expect(try now(["--segment", path]).status == 2)
        let usage = try runVMClockd(["now", "--config", "none", "--segment", "none"])
        #expect(usage.status == 64)
    }

    /// The segment asks clients to compare markers with the device: a
    /// migration (vmclock-sim's `disrupt`) makes it unknown at once, before
    /// any writer rewrites; a device nobody can read gives no bound.
    @Test func nowChecksTheDevicesMarker() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let sim = try SimulatorProcess(page: dir.path("vmclock0"))
        defer { sim.stop() }
        let marker = try #require(UInt64(try sim.send("disrupt")["marker"] ?? ""))
        var segment = HandSegment(status: 1)
        (segment.marker, segment.disruptionSupport) = (marker, 1)
        try segment.write(to: dir.path("shm0"))
        let same = try now(["--segment", dir.path("shm0"), "--device", sim.pagePath])
        #expect(same.status == 0 && same.json["device_marker"] as? String == "\(marker)", "\(same.text)")
        let moved = try #require(UInt64(try sim.send("disrupt")["marker"] ?? ""))
        let after = try now(["--segment", dir.path("shm0"), "--device", sim.pagePath])
        #expect(after.status == 1 && after.json["status"] as? String == "unknown", "\(after.text)")
        #expect(after.json["device_marker"] as? String == "\(moved)" && after.json["segment_marker"] as? String == "\(marker)")
        let unreadable = try now(["--segment", dir.path("shm0"), "--device", dir.path("absent")])
        #expect(unreadable.status == 1 && unreadable.json["bound"] is NSNull, "\(unreadable.text)")
        #expect((unreadable.json["problem"] as? String)?.contains("disruption marker") == true, "\(unreadable.text)")
    }
}

/// The PyPI client (Python 3.13, from the Debian 13 root) on the same files.
@Suite(.enabled(if: ClockBoundPythonClient.isAvailable(), "needs root and the Debian 13 root with the PyPI client (.ci/trixie-chrony)"))
struct PyPIClockBoundClient {
    @Test func readsEachStatusAsWritten() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = try ClockBoundPythonClient(directory: dir.path(""))
        let path = dir.path("shm0")
        for status in Int32(0)...3 {
            var segment = HandSegment(status: status, bound: 250_000)
            (segment.marker, segment.maxDrift, segment.generation) = (0x0123_4567_89AB_CDEF, 1_000_000, 10)
            try segment.write(to: path)
            let reads = try client.read(path, reads: 3)
            #expect(reads.count == 3)
            for read in reads {
                let snapshot = try #require(read.snapshot, "status \(status): \(read)")
                #expect(snapshot.magic1 == 0x414D_5A4E && snapshot.magic2 == 0x4342_0200 && snapshot.segmentSize == 80)
                #expect(snapshot.version == 2 && snapshot.generation == 10 && snapshot.clockStatus == UInt64(status))
                #expect(snapshot.asOfSeconds * 1_000_000_000 + snapshot.asOfNanoseconds == UInt64(segment.asOf))
                #expect(snapshot.bound == 250_000 && snapshot.disruptionMarker == 0x0123_4567_89AB_CDEF && snapshot.maxDrift == 1_000_000)
                if status == 1 || status == 2 {
                    let earliest = try #require(read.earliest, "\(read)"), latest = try #require(read.latest)
                    let mid = (earliest + latest) / 2, half = (latest - earliest) / 2
                    #expect(mid >= read.realtimeBefore && mid <= read.realtimeAfter, "\(read)")
                    // Its bound grows from as_of at 1000 ppm by its own (plain) monotonic clock.
                    let asOf = Int128(segment.asOf)
                    #expect(half >= 250_000 + (read.monotonicBefore - asOf) / 1000 - 1, "\(read)")
                    #expect(half <= 250_000 + (read.monotonicAfter - asOf) / 1000 + 1, "\(read)")
                    #expect(read.nowError == nil)
                } else {
                    #expect(read.nowError == "ClockStatusError" && read.earliest == nil, "\(read)")
                }
            }
        }
        var voided = HandSegment(status: 1)
        voided.voidAfter = voided.asOf - 1
        try voided.write(to: path)
        #expect(try client.read(path, reads: 1).first?.nowError == "TimeVoidedError")
        #expect(throws: ClockBoundPythonClient.Failure.self) { try client.read(dir.path("absent"), reads: 1) }
    }

    /// `vmclockd now` and the PyPI client agree on the bound and on whether
    /// there is one; where they differ is what the PyPI client leaves out
    /// (no free-running of its own, no marker check).
    @Test func agreesWithVMClockdNow() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = try ClockBoundPythonClient(directory: dir.path(""))
        let path = dir.path("shm0")
        var segment = HandSegment(status: 1, bound: 400_000)
        segment.maxDrift = 1_000_000
        try segment.write(to: path)
        let python = try #require(try client.read(path, reads: 1).first)
        let coarseBefore = Int128(HandSegment.coarseNow())
        let ours = try runVMClockd(["now", "--config", "none", "--json", "--segment", path])
        let coarseAfter = Int128(HandSegment.coarseNow())
        let json = try #require(try JSONSerialization.jsonObject(with: Data(ours.stdout.utf8)) as? [String: Any])
        let bound = try #require((json["bound"] as? String).flatMap { Int128($0) })
        let asOf = Int128(segment.asOf)
        #expect(ours.status == 0 && python.nowError == nil, "\(ours.stdout) \(python)")
        // Each bound is the written one grown at 1000 ppm to its reader's instant.
        #expect(bound >= 400_000 + (coarseBefore - asOf) / 1000 && bound <= 400_000 + (coarseAfter - asOf) / 1000 + 1, "\(ours.stdout)")
        let half = try #require(python.latest.flatMap { l in python.earliest.map { (l - $0) / 2 } })
        #expect(half >= 400_000 && half <= 400_000 + (python.monotonicAfter - asOf) / 1000 + 1, "\(python)")

        // Not refreshed for 6 s: vmclockd now says free-running; the PyPI client
        // still gives a bound (it never ages the status itself).
        try HandSegment(status: 1, asOfAgo: 6).write(to: path)
        let aged = try runVMClockd(["now", "--config", "none", "--segment", path])
        let agedPython = try #require(try client.read(path, reads: 1).first)
        #expect(aged.status == 3 && agedPython.nowError == nil, "\(aged.stdout) \(agedPython)")
        // Disrupted: neither gives a time.
        try HandSegment(status: 3).write(to: path)
        #expect(try runVMClockd(["now", "--config", "none", "--segment", path]).status == 1)
        #expect(try client.read(path, reads: 1).first?.nowError == "ClockStatusError")
    }

    /// A writer rewriting the segment in place while the client reads: the
    /// client keeps its mapping and sees each new generation.
    @Test func seesInPlaceRewritesThroughItsMapping() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = try ClockBoundPythonClient(directory: dir.path(""))
        let path = dir.path("shm0")
        try HandSegment(status: 0).write(to: path)
        // Rewrites every 50 ms until the reads are done, however long the
        // client takes to start.
        let done = Atomic<Bool>(false)
        let writer = Thread {
            var generation: UInt16 = 2
            while !done.load(ordering: .relaxed) {
                var segment = HandSegment(status: 1)
                generation = generation >= 65_534 ? 2 : generation + 2
                segment.generation = generation
                try? segment.write(to: path)
                usleep(50_000)
            }
        }
        writer.start()
        defer { done.store(true, ordering: .relaxed) }
        let reads = try client.read(path, forSeconds: 2)
        let generations = Set(reads.compactMap { $0.snapshot?.generation })
        #expect(generations.count > 1, "one generation seen in \(reads.count) reads")
        #expect(reads.allSatisfy { ($0.snapshot?.generation ?? 1) % 2 == 0 }, "an odd generation returned")
    }
}

/// `vmclockd wait` on the segment: it returns once the segment says
/// synchronized (and, with --max-bound, the bound is within it), the
/// segment rewritten in place under it.
@Suite struct WaitOnSegment {
    func waiting(_ dir: TemporaryDirectory, _ extra: [String] = []) throws -> (child: Child, output: String) {
        let output = dir.path("wait.out")
        let child = try Child(
            name: "vmclockd wait",
            arguments: [Products.vmclockd.path, "wait", "--config", "none", "--segment", dir.path("shm0"),
                        "--status-file", dir.path("status.json"), "--device", dir.path("vmclock0"), "--timeout", "120"] + extra,
            stdout: .file(output), stderr: .file(output))
        return (child, output)
    }

    /// Still waiting after several of its polls (0.2 s each).
    func stillWaiting(_ child: Child, _ output: String) {
        for _ in 0..<5 {
            #expect(!child.hasExited, "wait returned: \(readFile(output) ?? "")")
            usleep(200_000)
        }
    }

    @Test func returnsOnceTheSegmentSaysSynchronized() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try HandSegment(status: 0).write(to: dir.path("shm0"))
        let (child, output) = try waiting(dir)
        defer { _ = child.stop() }
        stillWaiting(child, output)
        try HandSegment(status: 3).write(to: dir.path("shm0"))
        stillWaiting(child, output)
        try HandSegment(status: 1, bound: 2_000).write(to: dir.path("shm0"))
        try #require(eventually(within: 30) { child.hasExited }, "wait never returned: \(readFile(output) ?? "")")
        #expect(child.exit == .status(0))
        #expect(readFile(output)?.contains("the ClockBound segment says synchronized") == true, "\(readFile(output) ?? "")")
    }

    @Test func withMaxBoundWaitsForTheBoundToo() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try HandSegment(status: 1, bound: 5_000_000).write(to: dir.path("shm0"))
        let (child, output) = try waiting(dir, ["--max-bound", "0.001"])
        defer { _ = child.stop() }
        stillWaiting(child, output)
        try HandSegment(status: 1, bound: 100_000).write(to: dir.path("shm0"))
        try #require(eventually(within: 30) { child.hasExited }, "wait never returned: \(readFile(output) ?? "")")
        #expect(child.exit == .status(0), "\(readFile(output) ?? "")")
        let refused = try runVMClockd(["wait", "--config", "none", "--segment", "none", "--max-bound", "0.001"])
        #expect(refused.status == 64 && refused.stderr.contains("--max-bound"), "\(refused)")
    }

    @Test func timesOutSayingWhatTheSegmentSays() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try HandSegment(status: 1, bound: 5_000_000).write(to: dir.path("shm0"))
        let common = ["wait", "--config", "none", "--segment", dir.path("shm0"), "--status-file", dir.path("status.json"), "--timeout", "0.3"]
        let tooWide = try runVMClockd(common + ["--max-bound", "0.001"])
        #expect(tooWide.status == 1 && tooWide.stdout.contains("above --max-bound"), "\(tooWide.stdout)")
        try HandSegment(status: 0).write(to: dir.path("shm0"))
        let unknown = try runVMClockd(common)
        #expect(unknown.status == 1 && unknown.stdout.contains("segment: unknown"), "\(unknown.stdout)")
    }
}
