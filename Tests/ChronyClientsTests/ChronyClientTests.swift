import Foundation
import TestSupport
import PeerHarness
import SystemPackage
import Testing

@testable import ChronyClients
@testable import ChronyProtocol
import ErrorNumbers
import VMClockSystem

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// ChronyClients against a real, private chronyd 4.3 (`ChronyProcess`:
    /// `-x`, its own sockets, never the machine's chronyd), checked the way a
    /// user would: with `chronyc`.
    ///
    /// Timing: the refclock has `poll 2`, so chronyd turns the ~4 Hz samples
    /// into one filtered sample (one `sourcestats` point, one reach bit) every
    /// 4 s, and selects VMCK about 12 s after the first sample. Waits are
    /// loops that feed and poll chronyc until a condition holds or a deadline
    /// passes; the deadlines are several poll intervals.
    @Suite(.enabled(if: ChronyProcess.isAvailable, "needs root and /usr/sbin/chronyd"))
    struct ChronyClient {
        /// A reference 5 ms ahead of the system clock.
        static let offset = 0.005

        // MARK: SOCK refclock

        @Test func sampleOffsetShowsInSourcesAndSourcestatsWithChronydsSign() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            // noselect: chronyd measures VMCK but does not absorb its offset
            // into its own clock, so sources keeps showing the raw offset.
            let chronyd = try ChronyProcess(directory: dir.url.path, refclockOptions: ["noselect"])
            defer { chronyd.stop() }
            let refclock = try RefclockSocket(path: chronyd.refclockPath)

            var stats: SourceStatsRow?
            let fed = feed(refclock, offset: Self.offset, for: 30) {
                stats = chronyd.sourceStats()
                return (stats?.samples ?? 0) >= 3
            }
            #expect(fed.failures.isEmpty, "send results: \(fed.failures)")
            try #require(fed.done, "VMCK never reached 3 samples: \(String(describing: stats))\n\(chronyd.log)")
            let source = try #require(chronyd.sources())

            // Tolerance 1 µs. The offset travels as our double, then as a
            // chrony Float (25-bit coefficient: ~3e-10 s at 5 ms) and is
            // printed to 1 ns. chronyd's own correction, which it subtracts,
            // is zero: -x with nothing selected leaves its clock model at
            // offset 0, frequency 0, so truncating tv to µs moves nothing. The
            // sourcestats regression over identical offsets extrapolates to
            // the same value. 1 µs is 5000 times smaller than the offset, so a
            // sign flip, a µs/ns mix-up or a mis-encoded double cannot pass.
            // Sign: chrony shows a reference AHEAD of the system as NEGATIVE.
            #expect(abs(source.measuredOffsetSeconds - -Self.offset) <= 1e-6, "\(source)")
            #expect(abs(source.adjustedOffsetSeconds - -Self.offset) <= 1e-6, "\(source)")
            #expect(source.reach != 0)
            #expect(source.lastRxSeconds.map { $0 <= 8 } == true, "\(source)")
            #expect(source.state == "?" || source.state == "-", "noselect: never selected, \(source)")
            let row = try #require(stats)
            #expect(abs(row.offsetSeconds - -Self.offset) <= 1e-6, "\(row)")
            #expect(row.standardDeviationSeconds < 1e-6, "\(row)")
            // The text form says the same, in chronyc's units.
            #expect(chronyd.chronyc(["sources"], csv: false).contains("-5000us[-5000us]"))
        }

        @Test func datagramsOfWrongLengthOrMagicAreIgnored() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path, refclockOptions: ["noselect"])
            defer { chronyd.stop() }

            // Valid samples of this moment with exactly one defect each.
            //
            // Not here: a LONGER datagram. chronyd 4.3 reads it with
            // recv(fd, &sample, sizeof sample, 0), which truncates it to 40
            // bytes, and takes it (seen: 44 bytes = a valid sample + 4 zeros
            // gave NP 2, offset -0.005). Only shorter ones are dropped by
            // length; newer chrony also rejects longer ones. SockSample always
            // sends exactly 40, so this does not matter to vmclockd.
            func malformed() -> [(String, [UInt8])] {
                let good = sampleNow(offset: Self.offset).encode()
                var wrongMagic = good
                wrongMagic.replaceSubrange(36..<40, with: withUnsafeBytes(of: SockSample.magic.byteSwapped) { Array($0) })
                return [
                    ("36 bytes", Array(good.prefix(36))),
                    ("39 bytes", Array(good.prefix(39))),
                    ("magic byte-swapped", wrongMagic),
                    ("magic zero", Array(good.prefix(36)) + [0, 0, 0, 0]),
                ]
            }
            // 2.5 poll intervals: had chronyd taken any of them, a filtered
            // sample (NP 1, a reach bit) would exist by then.
            let deadline = Date().addingTimeInterval(10)
            var grew: SourceStatsRow?
            while Date() < deadline && grew == nil {
                for (name, bytes) in malformed() {
                    #expect(sendRawDatagram(bytes, to: chronyd.refclockPath) == 0, "\(name) not sent")
                }
                if let stats = chronyd.sourceStats(), stats.samples > 0 { grew = stats }
                usleep(250_000)
            }
            #expect(grew == nil, "chronyd took a malformed datagram: \(String(describing: grew))")
            let stats = try #require(chronyd.sourceStats())
            #expect(stats.samples == 0)
            let source = try #require(chronyd.sources())
            #expect(source.reach == 0 && source.lastRxSeconds == nil, "\(source)")
            #expect(chronyd.isRunning)

            // Control: the same channel with valid samples does grow.
            let refclock = try RefclockSocket(path: chronyd.refclockPath)
            let fed = feed(refclock, offset: Self.offset, for: 15) { (chronyd.sourceStats()?.samples ?? 0) >= 1 }
            #expect(fed.done, "valid samples were not taken either:\n\(chronyd.log)")
        }

        @Test func refclockSocketWithoutChronydIsNoListener() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let missing = try RefclockSocket(path: dir.path("vmclock.sock"))
            #expect(missing.send(sampleNow(offset: 0)) == .noListener(.noSuchFileOrDirectory))

            let chronyd = try ChronyProcess(directory: dir.url.path, refclockOptions: ["noselect"])
            defer { chronyd.stop() }
            let refclock = try RefclockSocket(path: chronyd.refclockPath)
            #expect(refclock.send(sampleNow(offset: 0)) == .sent)
            // chronyd (as _chrony by then) cannot remove its root-owned socket:
            // the file stays, nobody is bound to it.
            chronyd.stop()
            #expect(FileManager.default.fileExists(atPath: chronyd.refclockPath))
            #expect(refclock.send(sampleNow(offset: 0)) == .noListener(.connectionRefused))
            // chronyd replaces the socket on restart; the same sender reaches it.
            try chronyd.restart()
            #expect(refclock.send(sampleNow(offset: 0)) == .sent)
        }

        // MARK: Control protocol

        @Test func resetSourcesSucceedsAndDropsVMCKsSamples() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path, refclockOptions: ["noselect"])
            defer { chronyd.stop() }
            let refclock = try RefclockSocket(path: chronyd.refclockPath)
            let fed = feed(refclock, offset: Self.offset, for: 25) { (chronyd.sourceStats()?.samples ?? 0) >= 2 }
            try #require(fed.done, "\(chronyd.log)")
            let before = try #require(chronyd.sourceStats())

            let client = try ControlClient(serverPath: chronyd.commandPath)
            let reply = try client.request(.resetSources)
            #expect(reply.status == .success)
            #expect(reply.command == 66)
            #expect(reply.reply == 1, "RPY_NULL")

            // No samples are sent meanwhile, so nothing can refill the set.
            let after = try #require(chronyd.sourceStats())
            #expect(after.samples < before.samples, "before \(before), after \(after)")
            #expect(after.samples == 0, "\(after)")
            let source = try #require(chronyd.sources())
            #expect(source.reach == 0 && source.lastRxSeconds == nil, "\(source)")

            // The refclock keeps working after the reset.
            let refed = feed(refclock, offset: Self.offset, for: 15) { (chronyd.sourceStats()?.samples ?? 0) >= 1 }
            #expect(refed.done)
        }

        /// Real chronyd 4.3 answers REQ_BURST with STT_NOSUCHSOURCE (4) when it
        /// has no NTP source (a refclock is not one): chronyc prints
        /// "503 No such source" for `burst 4/8`.
        @Test func burstWithoutNTPSourcesIsRefusedAsNoSuchSource() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path, refclockOptions: ["noselect"])
            defer { chronyd.stop() }
            let client = try ControlClient(serverPath: chronyd.commandPath)
            #expect(throws: ControlFailure.refused(.burst, .noSuchSource)) {
                _ = try client.request(.burst)
            }
            let chronyc = chronyd.runChronyc(["burst", "4/8"], csv: false)
            #expect((chronyc.stdout + chronyc.stderr).contains("No such source"), "\(chronyc)")
        }

        @Test func trackingAgreesWithChronyc() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path)  // VMCK selectable
            defer { chronyd.stop() }
            let client = try ControlClient(serverPath: chronyd.commandPath)

            // Before any sample: no reference ("00000000", empty name).
            let (initial, initialRow) = try agreeingTracking(client, chronyd)
            #expect(initial.referenceID == 0 && initial.referenceIDText == "")
            #expect(initialRow.referenceIDHex == "00000000" && initialRow.referenceName == "")
            expectAgreement(initial, initialRow)

            // Selected: chronyd (-x) absorbs the 5 ms into its own notion of
            // the clock. "System time : 0.005000000 seconds slow" is a current
            // correction of +0.005 (true − system time).
            let refclock = try RefclockSocket(path: chronyd.refclockPath)
            let selected = feed(refclock, offset: Self.offset, for: 30) {
                chronyd.tracking()?.referenceIDHex == "564D434B"
            }
            try #require(selected.done, "VMCK never selected:\n\(chronyd.log)")
            let (tracking, row) = try agreeingTracking(client, chronyd)
            #expect(tracking.referenceID == 0x564D_434B)
            #expect(tracking.referenceIDText == "VMCK" && row.referenceName == "VMCK")
            expectAgreement(tracking, row)
            #expect(abs(tracking.currentCorrection - Self.offset) <= 1e-6, "\(tracking)")
            #expect(chronyd.chronyc(["tracking"], csv: false).contains("seconds slow of NTP time"))

            // The reference jumps 3 ms further ahead: at the next update the
            // correction grows towards 8 ms ("slow") and the last offset is
            // negative (the local clock was behind the reference), both with
            // chronyc's signs and magnitudes. (The update that selected VMCK
            // already had last offset -0.005: the whole 5 ms.)
            let moved = feed(refclock, offset: 0.008, for: 20) {
                guard let row = chronyd.tracking() else { return false }
                return row.systemTimeSeconds > 0.0065 && row.lastOffsetSeconds < -1e-4
                    && row.referenceTime > tracking.referenceTime
            }
            try #require(moved.done, "no update after the jump:\n\(chronyd.log)")
            let (jumped, jumpedRow) = try agreeingTracking(client, chronyd)
            expectAgreement(jumped, jumpedRow)
            #expect(jumped.lastOffset < -1e-4 && jumped.lastOffset > -0.0035, "\(jumped)")
            #expect(jumped.currentCorrection > 0.0065 && jumped.currentCorrection < 0.0085, "\(jumped)")
            #expect(jumped.referenceTime > tracking.referenceTime)

            // The very same reply bytes, decoded by chronyc and by us.
            if ChronycTrace.isAvailable {
                let trace = try ChronycTrace(chronyd, ["tracking"], in: dir)
                let replyBytes = try #require(trace.replies.first)
                #expect(replyBytes.count == 104)
                let reply = try #require(ControlReply(bytes: replyBytes))
                let decoded = try #require(reply.tracking)
                let printed = try #require(trace.stdout.split(separator: "\n").lazy.compactMap { TrackingRow(csv: $0) }.first)
                #expect(decoded.referenceID == printed.referenceID)
                #expect(abs(decoded.referenceTime - printed.referenceTime) <= 1e-6)
                // Same Float, printed with 9 decimals: within rounding.
                #expect(abs(decoded.currentCorrection - printed.systemTimeSeconds) <= 1e-9, "\(decoded) \(printed)")
                #expect(abs(decoded.lastOffset - printed.lastOffsetSeconds) <= 1e-9, "\(decoded) \(printed)")
                // What ClockBound's bound is made of: chronyc prints delay and dispersion to 9 decimals, skew and frequency to 3, the update interval to 1.
                #expect(abs(decoded.rootDelay - printed.rootDelaySeconds) <= 1e-9, "\(decoded) \(printed)")
                #expect(abs(decoded.rootDispersion - printed.rootDispersionSeconds) <= 1e-9, "\(decoded) \(printed)")
                #expect(abs(decoded.skewPPM - printed.skewPPM) <= 1e-3, "\(decoded) \(printed)")
                #expect(abs(decoded.residualFrequencyPPM - printed.residualFrequencyPPM) <= 1e-3, "\(decoded) \(printed)")
                #expect(abs(decoded.lastUpdateInterval - printed.updateIntervalSeconds) <= 0.05, "\(decoded) \(printed)")
                #expect(decoded.rootDispersion > 0 && decoded.skewPPM > 0, "\(decoded)")
            }
        }

        /// With -x chronyd runs on its "null" clock driver, which cannot step:
        /// REQ_MAKESTEP answers STT_FAILED ("500 Failure" in chronyc, "Could
        /// not step system clock" in its log) although chronyd has already
        /// folded its pending correction into its own notion of the clock:
        /// "System time" goes from 0.005 s slow to 0.
        @Test func makeStepUnderDashXIsRefusedButCancelsTheCorrection() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path)
            defer { chronyd.stop() }
            let refclock = try RefclockSocket(path: chronyd.refclockPath)
            let corrected = feed(refclock, offset: Self.offset, for: 30) {
                (chronyd.tracking()?.systemTimeSeconds ?? 0) > 0.004
            }
            try #require(corrected.done, "VMCK never selected:\n\(chronyd.log)")

            let client = try ControlClient(serverPath: chronyd.commandPath)
            #expect(throws: ControlFailure.refused(.makeStep, .failed)) {
                _ = try client.request(.makeStep)
            }
            let after = try #require(chronyd.tracking())
            #expect(abs(after.systemTimeSeconds) < 1e-6, "\(after)")
            let tracking = try #require(client.request(.tracking).tracking)
            #expect(abs(tracking.currentCorrection) < 1e-6, "\(tracking)")
            #expect(chronyd.log.contains("Could not step system clock"))
        }

        @Test func noChronydAtThePathIsUnreachableAtOnce() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let path = dir.path("chronyd.sock")
            let client = try ControlClient(serverPath: path)
            let started = ContinuousClock.now
            #expect(throws: ControlFailure.unreachable(path: path, ErrorNumber(Errno.noSuchFileOrDirectory))) {
                _ = try client.request(.tracking)
            }
            // Not the noReply path (3 × 500 ms).
            #expect(ContinuousClock.now - started < .milliseconds(300))
        }

        /// Where chrony is not installed or not running, its socket directory
        /// (/run/chrony on Debian) does not exist either. That is "no chronyd
        /// at the path" just the same, and should be reported as such.
        @Test func noChronydSocketDirectoryIsUnreachable() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let path = dir.path("run-chrony/chronyd.sock")
            #expect {
                let client = try ControlClient(serverPath: path)
                _ = try client.request(.tracking)
            } throws: { error in
                guard case ControlFailure.unreachable(path, _) = error else {
                    Issue.record("got \(error): \((error as? ControlFailure)?.description ?? "")")
                    return false
                }
                return true
            }
        }

        @Test func stoppedChronydIsUnreachableQuicklyAndTheClientRecoversAfterRestart() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path, refclockOptions: ["noselect"])
            defer { chronyd.stop() }
            let client = try ControlClient(serverPath: chronyd.commandPath)
            #expect(try client.request(.tracking).tracking != nil)

            // SIGTERM: chronyd removes its command socket.
            chronyd.stop()
            var started = ContinuousClock.now
            #expect(throws: ControlFailure.unreachable(path: chronyd.commandPath, ErrorNumber(Errno.noSuchFileOrDirectory))) {
                _ = try client.request(.tracking)
            }
            #expect(ContinuousClock.now - started < .milliseconds(300))

            // Same client, restarted chronyd (same directory, our reply socket
            // still in it): answers again.
            try chronyd.restart()
            #expect(try client.request(.tracking).tracking != nil)

            // Crashed: the socket file stays, nobody bound to it.
            chronyd.crash()
            #expect(FileManager.default.fileExists(atPath: chronyd.commandPath))
            started = ContinuousClock.now
            #expect(throws: ControlFailure.unreachable(path: chronyd.commandPath, ErrorNumber(Errno.connectionRefused))) {
                _ = try client.request(.tracking)
            }
            #expect(ContinuousClock.now - started < .milliseconds(300))
        }

        // MARK: Request bytes

        /// Layouts from candm.h, protocol 6. Cross-checked with strace on
        /// Debian's chronyc 4.3 (`strace -f -e trace=sendto -xx chronyc -h …`):
        /// `reset sources` sends these 28 bytes and `burst 4/8` these 68
        /// bytes, identical to ours apart from the random sequence number
        /// (bytes 8..<12); see `requestBytesMatchChronycsApartFromTheSequence`,
        /// which repeats that comparison live.
        @Test func requestByteLayout() {
            let reset = ControlRequest(command: .resetSources, sequence: 0x0102_0304, attempt: 0).encode()
            #expect(reset.count == 28)
            #expect(Array(reset[0..<4]) == [6, 1, 0, 0], "version 6, request, res1, res2")
            #expect(Array(reset[4..<6]) == [0, 66], "REQ_RESET_SOURCES, big-endian")
            #expect(Array(reset[6..<8]) == [0, 0], "attempt")
            #expect(Array(reset[8..<12]) == [1, 2, 3, 4], "sequence, big-endian")
            #expect(reset[12...].allSatisfy { $0 == 0 }, "pad1, pad2, padding to the 28-byte reply")

            let burst = ControlRequest(command: .burst, sequence: 7, attempt: 2).encode()
            #expect(burst.count == 68)
            #expect(Array(burst[4..<8]) == [0, 3, 0, 2], "REQ_BURST, attempt 2")
            #expect(burst[20..<60].allSatisfy { $0 == 0 }, "mask and address: family 0, every NTP source")
            #expect(Array(burst[60..<68]) == [0, 0, 0, 4, 0, 0, 0, 8], "n_good_samples 4, n_total_samples 8")

            let tracking = ControlRequest(command: .tracking, sequence: 1, attempt: 0).encode()
            #expect(tracking.count == 104, "padded to RPY_TRACKING's length")
            #expect(Array(tracking[4..<6]) == [0, 33])
            let makeStep = ControlRequest(command: .makeStep, sequence: 1, attempt: 0).encode()
            #expect(makeStep.count == 28)
            #expect(Array(makeStep[4..<6]) == [0, 43])
        }

        /// What chronyc itself sends, captured with strace: the same bytes as
        /// ours once our request carries chronyc's sequence number.
        @Test(.enabled(if: ChronycTrace.isAvailable, "needs /usr/bin/strace"))
        func requestBytesMatchChronycsApartFromTheSequence() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path, refclockOptions: ["noselect"])
            defer { chronyd.stop() }
            let cases: [(ControlCommand, [String], UInt16)] = [
                (.resetSources, ["reset", "sources"], 0),  // 200 OK
                (.burst, ["burst", "4/8"], 4),  // 503 No such source
                (.tracking, ["tracking"], 0),
                (.makeStep, ["makestep"], 1),  // 500 Failure (-x)
            ]
            for (command, arguments, expectedStatus) in cases {
                let trace = try ChronycTrace(chronyd, arguments, in: dir)
                let theirs = try #require(trace.requests.first, "\(arguments): no request in \(trace.log)")
                let sequence: UInt32 = theirs[8..<12].reduce(0) { $0 << 8 | UInt32($1) }
                let ours = ControlRequest(command: command, sequence: sequence, attempt: 0).encode()
                #expect(ours == theirs, "\(arguments)")
                // And chronyd's reply to chronyc parses as ours would.
                let replyBytes = try #require(trace.replies.first)
                let reply = try #require(ControlReply(bytes: replyBytes))
                #expect(reply.sequence == sequence && reply.command == command.code)
                #expect(reply.status == ControlReply.Status(expectedStatus), "\(arguments): \(reply.status)")
            }
        }
    }
}

// MARK: Helpers

/// Sends a fresh sample every 250 ms (~4 Hz) until `done()` holds after a
/// send or `seconds` pass. `failures`: any send result other than `.sent`.
private func feed(
    _ refclock: RefclockSocket, offset: Double, for seconds: Double, until done: () -> Bool
) -> (done: Bool, failures: [RefclockSocket.SendResult]) {
    let deadline = Date().addingTimeInterval(seconds)
    var failures: [RefclockSocket.SendResult] = []
    while Date() < deadline {
        let result = refclock.send(sampleNow(offset: offset))
        if result != .sent { failures.append(result) }
        if done() { return (true, failures) }
        usleep(250_000)
    }
    return (false, failures)
}

/// Our tracking reply and chronyc's, taken back to back; retried if chronyd
/// updated its reference in between (ref time or last offset changed).
private func agreeingTracking(_ client: ControlClient, _ chronyd: ChronyProcess) throws -> (TrackingReport, TrackingRow) {
    for _ in 0..<5 {
        let before = try #require(chronyd.tracking())
        let ours = try #require(try client.request(.tracking).tracking)
        let after = try #require(chronyd.tracking())
        if before.referenceTime == after.referenceTime && before.lastOffsetSeconds == after.lastOffsetSeconds {
            return (ours, after)
        }
    }
    throw TrackingRace()
}

private struct TrackingRace: Error {}

/// Field by field. Tolerances: ref time 1 µs (a double holds ~0.24 µs at
/// 1.8e9 s); last offset 1 ns (chronyd sends it once per update as a Float,
/// which chronyc decodes exactly as we should and prints to 1 ns); current
/// correction 100 ns, because chronyd recomputes it for each request and our
/// request and chronyc's are tens of ms apart (at the ~0 ppm frequency of its
/// -x clock model that moves it by far less). A sign error or a wrong Float
/// exponent would be off by 2× the value or a power of two.
private func expectAgreement(
    _ ours: TrackingReport, _ theirs: TrackingRow, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(ours.referenceID == theirs.referenceID, sourceLocation: sourceLocation)
    #expect(String(format: "%08X", ours.referenceID) == theirs.referenceIDHex, sourceLocation: sourceLocation)
    #expect(ours.referenceIDText == theirs.referenceName || theirs.referenceID == 0, sourceLocation: sourceLocation)
    #expect(abs(ours.referenceTime - theirs.referenceTime) <= 1e-6, "\(ours) \(theirs)", sourceLocation: sourceLocation)
    #expect(abs(ours.lastOffset - theirs.lastOffsetSeconds) <= 1e-9, "\(ours) \(theirs)", sourceLocation: sourceLocation)
    #expect(
        abs(ours.currentCorrection - theirs.systemTimeSeconds) <= 1e-7, "\(ours) \(theirs)",
        sourceLocation: sourceLocation)
    if theirs.systemTimeSeconds != 0 {
        #expect((ours.currentCorrection > 0) == (theirs.systemTimeSeconds > 0), sourceLocation: sourceLocation)
    }
}

/// Sends `bytes` as one datagram to `path` from an unbound socket; 0 or errno.
private func sendRawDatagram(_ bytes: [UInt8], to path: String) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { return errno }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let pathBytes = Array(path.utf8)
    precondition(pathBytes.count < MemoryLayout.size(ofValue: address.sun_path))
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: pathBytes)
        raw[pathBytes.count] = 0
    }
    let sent = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
    return sent == bytes.count ? 0 : errno
}
