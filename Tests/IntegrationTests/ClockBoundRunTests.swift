import Foundation
import PeerHarness
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// What applications are told (README, "What applications are told"),
    /// row by row, against the simulator writing a real page, a real
    /// chronyd and, without clock data, a second real chronyd serving NTP on
    /// loopback. The segment is read by hand from PROTOCOL.md's offsets
    /// (TestSupport's SegmentRead), as a client that cannot read the device does.
    @Suite(.enabled(if: ChronyProcess.isAvailable, "needs root and /usr/sbin/chronyd"))
    struct ClockBoundRun {
        /// vmclockd at its defaults on a page with clock data beside a
        /// selectable chronyd, once the segment says Synchronized: the rig
        /// (the caller stops it), the segment's path and chronyd.
        static func synchronizedRig() throws -> (rig: Rig, segment: String, chronyd: ChronyProcess) {
            let rig = try Rig(chronyd: .selectable, relay: false, interval: 0.0625)
            do {
                let segment = try #require(rig.daemon.segmentPath)
                let chronyd = try #require(rig.chronyd)
                try #require(eventually(within: 20) { SegmentRead.read(segment)?.status == SegmentRead.synchronized }, "\(rig.report)")
                return (rig, segment, chronyd)
            } catch {
                rig.stop()
                throw error
            }
        }

        /// Reads the segment every 2 ms until `done` says so or `seconds` pass; every read.
        static func reads(_ path: String, within seconds: Double, until done: (SegmentRead) -> Bool) -> [SegmentRead] {
            var all: [SegmentRead] = []
            _ = eventually(within: seconds, every: 0.002) {
                guard let read = SegmentRead.read(path) else { return false }
                if all.last != read { all.append(read) }
                return done(read)
            }
            return all
        }

        @Test func withClockDataTheBoundIsMeasuredAndAMigrationIsDisruptedUntilTrackingAgain() throws {
            let rig = try Rig(page: ["offset_ns=2000000"], chronyd: .selectable, relay: false, interval: 0.0625)
            defer { rig.stop() }
            let segment = try #require(rig.daemon.segmentPath)
            let before = Self.reads(segment, within: 20) { $0.status == SegmentRead.synchronized }
            let synchronized = try #require(before.last, "\(rig.report)")
            try #require(synchronized.status == SegmentRead.synchronized, "\(before) \(rig.report)")
            // The true error is the simulator's offset, 2 ms: contained.
            #expect(synchronized.bound >= 2_000_000, "\(synchronized)")
            #expect(synchronized.disruptionSupport == 1 && synchronized.marker == pageMarker(rig.simulator.pagePath))
            #expect(synchronized.version == 2 && synchronized.maxDrift >= 1_000, "\(synchronized)")
            // A client the project did not write, on the daemon's own segment: its bound holds the
            // simulator's true error (the page is 2 ms ahead of the system clock).
            if ClockBoundPythonClient.isAvailable() {
                let client = try ClockBoundPythonClient(directory: DaemonProcess.beside(segment, ""))
                let reads = try client.read(segment, reads: 20)
                #expect(reads.count == 20)
                for read in reads {
                    let (earliest, latest) = try (#require(read.earliest, "\(read)"), #require(read.latest, "\(read)"))
                    #expect((latest - earliest) / 2 >= 2_000_000, "the client's bound under the true error: \(read)")
                }
            }

            let ack = try rig.simulator.send("disrupt step_ns=3000000")
            let marker = try #require(ack["marker"].flatMap(UInt64.init))
            let after = Self.reads(segment, within: 20) { $0.status == SegmentRead.synchronized && $0.marker == marker }
            let resumed = try #require(after.last, "\(rig.report)")
            try #require(resumed.status == SegmentRead.synchronized && resumed.marker == marker, "\(after) \(rig.report)")
            // Presence: Disrupted under the new marker; order: from then on never the old marker again,
            // nothing but Disrupted until Synchronized under the new one.
            let first = try #require(after.firstIndex { $0.status == SegmentRead.disrupted }, "never Disrupted: \(after)")
            #expect(after[first].marker == marker && after[first].bound == 0, "\(after[first])")
            for read in after[first...] {
                #expect(read.marker == marker, "\(read)")
                #expect(read.status == SegmentRead.disrupted || read.status == SegmentRead.synchronized, "\(read)")
            }
            // The first Synchronized came after chronyd acknowledged the reset (the daemon logs the
            // acknowledgement before the next write), and contains the new error, 5 ms.
            #expect(!rig.daemon.lines(containing: "chronyd acknowledged 'reset sources'").isEmpty, "\(rig.report)")
            // (A Synchronized under the old marker read before the daemon looked is what a client
            // that reads the device turns into Unknown: the markers differ.)
            for read in after where read.status == SegmentRead.synchronized && read.marker == marker {
                #expect(read.bound >= 5_000_000, "\(read)")
            }
            if let stale = after.first, stale.marker != marker { #expect(pageMarker(rig.simulator.pagePath) != stale.marker) }
        }

        @Test func stoppingTheDaemonLeavesUnknownAndARestartNeverShowsTheOldSynchronized() throws {
            let (rig, segment, chronyd) = try ClockBoundRun.synchronizedRig()
            defer { rig.stop() }
            // SIGKILL: nothing is withdrawn; the file says Synchronized until void_after, 5 s on.
            let killed = try #require(SegmentRead.read(segment))
            rig.daemon.send(signal: SIGKILL)
            _ = rig.daemon.stop()
            #expect(killed.status == SegmentRead.synchronized && killed.voidAfterNanoseconds - killed.asOfNanoseconds == 5_000_000_000)
            // A new daemon while chronyd is down: nothing can make it Synchronized, so every write
            // it makes shows what it says of the old Synchronized.
            chronyd.crash()
            let restartedAt = coarseNanoseconds()
            let again = try DaemonProcess(arguments: rig.daemon.arguments, logPath: rig.dir.path("vmclockd-2.log"))
            defer { _ = again.stop() }
            var fresh: SegmentRead?
            #expect(eventually(within: 10) {
                fresh = SegmentRead.read(segment).flatMap { $0.generation != killed.generation ? $0 : nil }
                return fresh != nil
            })
            let first = try #require(fresh)
            #expect(first.status == SegmentRead.unknown && first.asOfNanoseconds >= restartedAt, "\(first)")
            // chronyd back: Synchronized again, stamped after the restart.
            try chronyd.restart()
            var resumed: SegmentRead?
            #expect(eventually(within: 20) {
                resumed = SegmentRead.read(segment)
                return resumed?.status == SegmentRead.synchronized
            }, "\(again.logLines().joined(separator: "\n"))")
            #expect((resumed?.asOfNanoseconds ?? 0) >= restartedAt)
            // SIGTERM: Unknown is written on the way out, and the file stays.
            _ = again.stop()
            let left = try #require(SegmentRead.read(segment))
            #expect(left.status == SegmentRead.unknown && left.bound == 0, "\(left)")
        }

        @Test func chronydGoneIsUnknownBackIsSynchronized() throws {
            let (rig, segment, chronyd) = try ClockBoundRun.synchronizedRig()
            defer { rig.stop() }
            chronyd.crash()
            #expect(eventually(within: 15) { SegmentRead.read(segment)?.status == SegmentRead.unknown }, "\(rig.report)")
            let view = try #require(published(rig) { $0.state?.clockBound?.reason == "chronyd-unreachable" }, "\(rig.report)")
            #expect(view.state?.clockBound?.status == "unknown")
            try chronyd.restart()
            #expect(eventually(within: 20) { SegmentRead.read(segment)?.status == SegmentRead.synchronized }, "\(rig.report)")
        }
    }
}

extension LiveDevice {
    /// A segment that cannot be written harms nothing else: one clear line,
    /// chronyd still served, and the metrics say it.
    @Suite(.enabled(if: ChronyProcess.isAvailable, "needs root and /usr/sbin/chronyd"))
    struct ClockBoundSegmentFault {
        @Test func aSegmentThatCannotBeWrittenIsSaidOnceAndChronydIsStillServed() throws {
            let rig = try Rig(chronyd: .selectable, relay: true, interval: 0.0625,
                              options: ["--clockbound-segment", "/proc/vmclockd-no-such-directory/clockbound/shm0"])
            defer { rig.stop() }
            let relay = try #require(rig.relay)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 20) != nil, "\(rig.report)")
            // Samples flow to chronyd all the same.
            try #require(eventually(within: 10) { relay.count >= 16 }, "\(rig.report)")
            let lines = rig.daemon.lines(containing: "/proc/vmclockd-no-such-directory/clockbound")
            #expect(lines.count == 1, "one line, then once a minute at most: \(lines)")
            #expect(lines.first?.contains("warning") == true, "\(lines)")
            let view = try #require(published(rig) { $0.state?.clockBound?.problem != nil }, "\(rig.report)")
            #expect(view.state?.state == "tracking")
            let metrics = try parseMetrics(String(contentsOfFile: rig.daemon.metricsFilePath, encoding: .utf8))
            #expect(metrics["vmclockd_clockbound_segment_writing"] == 0, "\(metrics)")
        }

        @Test func theMetricsSayWhatTheSegmentSays() throws {
            let (rig, segment, _) = try LiveDevice.ClockBoundRun.synchronizedRig()
            defer { rig.stop() }
            var metrics: [String: Double] = [:]
            #expect(try eventually(within: 10) {
                metrics = try parseMetrics(String(contentsOfFile: rig.daemon.metricsFilePath, encoding: .utf8))
                return metrics["vmclockd_clockbound_status{status=\"synchronized\"}"] == 1
            }, "\(metrics)")
            #expect(metrics["vmclockd_clockbound_status{status=\"disrupted\"}"] == 0 && metrics["vmclockd_clockbound_segment_writing"] == 1)
            let bound = try #require(metrics["vmclockd_clockbound_bound_seconds"])
            #expect(bound > 0 && bound < 0.01, "\(bound)")
        }
    }
}

extension LiveDevice.ClockBoundSegmentFault {
    /// The device gone: Disrupted from the look that sees it until chronyd
    /// acknowledged the reset, then Unknown (no device: a migration could
    /// not be seen), with disruption support 0, so clients stop looking for it.
    @Test func theDeviceGoneIsDisruptedThenUnknownWithoutSupport() throws {
        let (rig, segment, chronyd) = try LiveDevice.ClockBoundRun.synchronizedRig()
        defer { rig.stop() }
        // chronyd down first, so the reset stays owed and Disrupted stays to be seen.
        chronyd.crash()
        _ = try rig.simulator.send("remove")
        var disrupted: SegmentRead?
        #expect(eventually(within: 10) {
            disrupted = SegmentRead.read(segment)
            return disrupted?.status == SegmentRead.disrupted
        }, "\(String(describing: disrupted))\n\(rig.report)")
        #expect(disrupted?.disruptionSupport == 0 && disrupted?.bound == 0, "\(String(describing: disrupted))")
        // chronyd back: the reset is acknowledged, and without a device nothing is vouched for.
        try chronyd.restart()
        let reads = LiveDevice.ClockBoundRun.reads(segment, within: 20) { $0.status == SegmentRead.unknown }
        let unknown = try #require(reads.last, "\(rig.report)")
        #expect(unknown.status == SegmentRead.unknown && unknown.disruptionSupport == 0, "\(reads)\n\(rig.report)")
        #expect(reads.allSatisfy { $0.status != SegmentRead.synchronized }, "\(reads)")
        let view = try #require(published(rig) { $0.state?.clockBound?.reason == "no-device" }, "\(rig.report)")
        #expect(view.state?.clockBound?.status == "unknown" && view.state?.reset?.acknowledged == true)
    }
}
