import Foundation
import TestSupport
import PeerHarness
import Testing
import DaemonCore

@testable import ChronyClients
@testable import ChronyProtocol

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// REQ_N_SOURCES and REQ_SOURCE_DATA against both real chronyds (4.3 on
    /// the host, 4.6 from the Debian 13 root), checked against chronyc; and
    /// the director's VMCK query through a real channel. Orders and
    /// presence are asserted, never how long chronyd takes (the waits are
    /// deadlines of several polls).
    @Suite struct ChronySourceData {
        static let flavors = ChronyFlavor.allCases.filter { ChronyProcess.isAvailable($0) }
        /// A reference 5 ms ahead of the system clock.
        static let offset = 0.005

        /// A second refclock listed first, so that VMCK is index 1 and the
        /// query has to search for it.
        static func peer(_ dir: TemporaryDirectory, _ flavor: ChronyFlavor) throws -> ChronyProcess {
            let path = dir.url.path
            let lines = [
                "refclock SOCK \(path)/other.sock refid OTHR noselect",
                "refclock SOCK \(path)/vmclock.sock refid VMCK poll 2 precision 1e-4",
            ]
            return try ChronyProcess(directory: path, refclockLine: lines.joined(separator: "\n"), flavor: flavor)
        }

        @Test(arguments: flavors)
        func sourceDataNamesVMCKNotSelectedUntilFedThenSelectedWithTheFedOffset(_ flavor: ChronyFlavor) throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try Self.peer(dir, flavor)
            defer { chronyd.stop() }
            let client = try ControlClient(serverPath: chronyd.commandPath)

            // No samples: both refclocks, in the config's order; VMCK unusable.
            #expect(try client.request(.sourceCount).sourceCount == 2)
            let other = try #require(try client.request(.sourceData(index: 0)).source)
            #expect(other.isRefclock("OTHR") && !other.isRefclock("VMCK"), "\(other)")
            let idle = try #require(try client.request(.sourceData(index: 1)).source)
            #expect(idle.isRefclock("VMCK") && idle.referenceIDText == "VMCK", "\(idle)")
            #expect(idle.state == .nonselectable && idle.reachability == 0 && idle.sinceSampleSeconds == nil, "\(idle)")
            #expect(idle.poll == 2)
            try expectAgreement(index: 1, chronyd, client)
            #expect(throws: ControlFailure.refused(.sourceData(index: 2), .noSuchSource)) {
                try client.request(.sourceData(index: 2))
            }

            // The director searches, and finds it at 1; it says it is not selected.
            var query = try QueryDriver(serverPath: chronyd.commandPath)
            let first = query.round(at: 0)
            #expect(first.sent == [.sourceCount, .sourceData(index: 0), .sourceData(index: 1)])
            #expect(first.report?.isRefclock("VMCK") == true && first.report?.state == .nonselectable, "\(first)")

            // Fed until chronyd selects it.
            let refclock = try RefclockSocket(path: chronyd.refclockPath)
            let selected = feedSamples(refclock, offset: Self.offset, for: 40) {
                (try? client.request(.sourceData(index: 1)).source)?.state == .selected
            }
            try #require(selected, "VMCK never selected:\n\(chronyd.log)")
            let (report, tracking) = try consistentView(client, index: 1)
            #expect(report.isRefclock("VMCK") && report.state == .selected && report.state.symbol == "*", "\(report)")
            #expect(report.reachability != 0 && report.sinceSampleSeconds.map { $0 <= 8 } == true, "\(report)")
            #expect(tracking.referenceIDText == "VMCK")
            // The offset fed, as chronyd holds it: its correction still to make
            // (true − system time) minus the latest sample's offset adjusted to
            // chronyd's current clock (chronyd's sign: the reference ahead is
            // negative). Before selection that is 0 − (−5 ms); once selected,
            // chronyd (-x) has taken the 5 ms into its correction and the
            // adjusted offset is ~0. Tolerance 1 µs, as in ChronyClientTests.
            let fed = tracking.currentCorrection - report.latestOffsetSeconds
            #expect(abs(fed - Self.offset) <= 1e-6, "\(report) \(tracking)")
            measured("\(flavor): selected: latest \(report.latestOffsetSeconds) s [measured \(report.originalLatestOffsetSeconds) s], correction \(tracking.currentCorrection) s")
            try expectAgreement(index: 1, chronyd, client)

            // The director's next round asks index 1 alone.
            let later = query.round(at: ChronyDirector.vmckEveryNanoseconds)
            #expect(later.sent == [.sourceData(index: 1)])
            #expect(later.report?.state == .selected, "\(later)")
        }

        /// The daemon feeding (the page 3.2 ms ahead, the defaults' 16 Hz and
        /// poll -4): chronyd selects VMCK with the page's offset; held, no
        /// samples flow and chronyd no longer selects it (4.6: selectopts;
        /// 4.3: its reach register empties), while still reporting it.
        @Test(arguments: flavors)
        func theDaemonsVMCKIsSelectedWithThePagesOffsetAndNotWhileHeld(_ flavor: ChronyFlavor) throws {
            let rig = try Rig(page: ["offset_ns=3200000"], chronyd: .selectable, relay: false, interval: 0.0625, flavor: flavor)
            defer { rig.stop() }
            let chronyd = try #require(rig.chronyd)
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(rig.report)")
            let client = try ControlClient(serverPath: rig.commandPath)
            let selected = eventually(within: 20) { (try? client.request(.sourceData(index: 0)).source)?.state == .selected }
            try #require(selected, "VMCK never selected\n\(chronyd.log)\n\(rig.report)")
            let (report, tracking) = try consistentView(client, index: 0)
            #expect(report.isRefclock("VMCK") && report.state == .selected, "\(report)")
            // DaemonRunTests' tolerance for the whole chain (page, daemon, chronyd).
            #expect(abs(tracking.currentCorrection - report.latestOffsetSeconds - 0.0032) <= chainToleranceSeconds, "\(report) \(tracking)")
            measured("\(flavor): daemon-fed, selected: latest \(report.latestOffsetSeconds) s, correction \(tracking.currentCorrection) s")

            try rig.simulator.send("set clock_status=unreliable")
            try #require(rig.daemon.waitForLog(containing: "→ holding/status", within: 2) != nil, "\(rig.report)")
            var held: SourceReport?
            let released = eventually(within: 10) {
                held = try? client.request(.sourceData(index: 0)).source
                return held.map { $0.state != .selected } == true
            }
            #expect(released, "still selected while held: \(String(describing: held))\n\(rig.report)")
            #expect(held?.isRefclock("VMCK") == true)
            #expect(rig.daemon.lines(containing: "asking chronyd about VMCK failed").isEmpty, "\(rig.report)")
            #expect(rig.daemon.lines(containing: "chronyd has no refclock").isEmpty, "\(rig.report)")
        }

        /// The daemon's own query, seen in its log: chronyd missing, then a
        /// chronyd without VMCK, each said once (info), not every second.
        @Test(.enabled(if: ChronyProcess.isAvailable(.debian12), "needs root and /usr/sbin/chronyd"))
        func theDaemonSaysOnceThatChronydIsUnreachableThenThatItHasNoVMCK() throws {
            let rig = try Rig(chronyd: .later, relay: false, interval: 0.0625)
            defer { rig.stop() }
            let daemon = rig.daemon
            let unreachable = daemon.waitForLog(containing: "asking chronyd about VMCK failed", within: 10)
            try #require(unreachable != nil, "\(rig.report)")
            #expect(unreachable!.contains("unreachable"), "\(unreachable!)")
            let chronyd = try ChronyProcess(
                directory: rig.chronyDirectory, refclockLine: "refclock SOCK \(rig.refclockPath) refid GPS poll -4")
            defer { chronyd.stop() }
            try #require(daemon.waitForLog(containing: "chronyd has no refclock with refid VMCK", within: 10) != nil, "\(rig.report)")
            usleep(2_000_000)  // two more rounds, which must not be logged
            #expect(daemon.lines(containing: "asking chronyd about VMCK").count == 1, "\(rig.report)")
            #expect(daemon.lines(containing: "chronyd has no refclock with refid VMCK").count == 1, "\(rig.report)")
        }

        /// What chronyc sends for `sources` (strace): our two requests, byte
        /// for byte apart from the sequence; and its replies decode as chronyc
        /// printed them.
        @Test(.enabled(if: ChronycTrace.isAvailable && ChronyProcess.isAvailable(.debian12), "needs /usr/bin/strace and chronyd"))
        func requestsMatchChronycsSourcesAndItsRepliesDecodeAsItPrints() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try Self.peer(dir, .debian12)
            defer { chronyd.stop() }
            let trace = try ChronycTrace(chronyd, ["sources"], in: dir)
            try #require(trace.requests.count == 3 && trace.replies.count == 3, "\(trace.log)")
            let expected: [ControlCommand] = [.sourceCount, .sourceData(index: 0), .sourceData(index: 1)]
            for (command, theirs) in zip(expected, trace.requests) {
                let sequence: UInt32 = theirs[8..<12].reduce(0) { $0 << 8 | UInt32($1) }
                #expect(ControlRequest(command: command, sequence: sequence, attempt: 0).encode() == theirs, "\(command)")
            }
            #expect(trace.replies.map(\.count) == [32, 76, 76])
            #expect(ControlReply(bytes: trace.replies[0])?.sourceCount == 2)
            let rows = trace.stdout.split(separator: "\n").compactMap { SourcesRow(csv: $0) }
            let decoded = trace.replies.dropFirst().compactMap { ControlReply(bytes: $0)?.source }
            try #require(rows.count == 2 && decoded.count == 2, "\(trace.stdout)")
            for (row, report) in zip(rows, decoded) {
                #expect(row.name == report.referenceIDText && row.mode == "#" && row.state == String(report.state.symbol))
                #expect(row.pollLog2 == Int(report.poll) && row.reach == Int(report.reachability))
            }
        }
    }
}

// MARK: Helpers

/// The director and a real channel, as the daemon's loop uses them, but
/// waiting for each reply: one round of the VMCK query at `now`.
private struct QueryDriver {
    var director = ChronyDirector()
    let channel: ControlChannel
    let wants = ChronyDirector.Wants(resetOwed: nil, selectable: true, trackingReport: false, sourceReport: true)

    init(serverPath: String) throws { channel = ControlChannel(serverPath: serverPath) }

    /// The query's requests in order, and what the round concluded.
    mutating func round(at now: Int64) -> (sent: [ControlCommand], report: SourceReport?, event: ChronydAnswer?) {
        var sent: [ControlCommand] = []
        while let command = director.next(wants, now: now) {
            if case .sourceCount = command { sent.append(command) }
            if case .sourceData = command { sent.append(command) }
            var outcome = channel.start(command, now: monotonic())
            while outcome == nil {
                if let fd = channel.descriptor {
                    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    if poll(&pfd, 1, 100) > 0 { outcome = channel.readable() }
                }
                outcome = outcome ?? channel.timeUp(now: monotonic())
            }
            guard let event = director.completed(outcome!, now: now) else { continue }
            switch event {
            case .vmckSource(let report, _): return (sent, report, event)
            case .vmckSourceFailed: return (sent, nil, event)
            default: continue
            }
        }
        return (sent, nil, nil)
    }

    private func monotonic() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// A source report and tracking from between two equal reports (ignoring
/// the age): no chronyd update fell between them.
private func consistentView(_ client: ControlClient, index: Int32) throws -> (SourceReport, TrackingReport) {
    for _ in 0..<5 {
        var before = try #require(try client.request(.sourceData(index: index)).source)
        let tracking = try #require(try client.request(.tracking).tracking)
        let after = try #require(try client.request(.sourceData(index: index)).source)
        before.sinceSampleSeconds = after.sinceSampleSeconds
        if before == after { return (after, tracking) }
    }
    throw UpdateRace()
}

private struct UpdateRace: Error {}

/// Ours of `index` (VMCK) against `chronyc -c sources`' VMCK row, from between two equal
/// reports of ours. Offsets to chronyc's 1 ns; the age within a second (it
/// may tick between the requests).
private func expectAgreement(
    index: Int32, _ chronyd: ChronyProcess, _ client: ControlClient, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    for _ in 0..<5 {
        let ours = try #require(try client.request(.sourceData(index: index)).source)
        let row = try #require(chronyd.sources())
        let again = try #require(try client.request(.sourceData(index: index)).source)
        guard ours.latestOffsetSeconds == again.latestOffsetSeconds, ours.reachability == again.reachability else { continue }
        #expect(row.mode == "#" && row.state == String(ours.state.symbol), "\(row) \(ours)", sourceLocation: sourceLocation)
        #expect(row.pollLog2 == Int(ours.poll) && row.reach == Int(ours.reachability), "\(row) \(ours)", sourceLocation: sourceLocation)
        #expect((row.lastRxSeconds == nil) == (ours.sinceSampleSeconds == nil), "\(row) \(ours)", sourceLocation: sourceLocation)
        if let theirs = row.lastRxSeconds, let mine = ours.sinceSampleSeconds {
            #expect(abs(Int(theirs) - Int(mine)) <= 1, "\(row) \(ours)", sourceLocation: sourceLocation)
        }
        #expect(abs(row.adjustedOffsetSeconds - ours.latestOffsetSeconds) <= 1e-9, "\(row) \(ours)", sourceLocation: sourceLocation)
        #expect(abs(row.measuredOffsetSeconds - ours.originalLatestOffsetSeconds) <= 1e-9, "\(row) \(ours)", sourceLocation: sourceLocation)
        #expect(abs(row.errorSeconds - ours.latestErrorSeconds) <= 1e-9, "\(row) \(ours)", sourceLocation: sourceLocation)
        return
    }
    Issue.record("chronyd updated VMCK between every pair of requests", sourceLocation: sourceLocation)
}

/// Sends a fresh sample (tv of now, `offset`) every 250 ms until `done()`
/// holds after a send, or `seconds` pass.
private func feedSamples(_ refclock: RefclockSocket, offset: Double, for seconds: Double, until done: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        _ = refclock.send(SockSample(
            systemSeconds: Int64(now.tv_sec), systemMicroseconds: Int64(now.tv_nsec) / 1000, offsetSeconds: offset, leap: .normal))
        if done() { return true }
        usleep(250_000)
    }
    return false
}
