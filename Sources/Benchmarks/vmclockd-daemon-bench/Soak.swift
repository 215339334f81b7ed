import PeerHarness
#if canImport(Glibc)
import Glibc
#endif

// MARK: - 5: soak

// `--phases soak --soak-seconds N --seed S`: vmclock-sim (a regular file page,
// driven by its command input), a real private chronyd 4.3 (-x, private
// sockets, ChronyProcess), a recording relay between vmclockd and chronyd's
// refclock socket, and vmclockd (the build next to this binary, as every
// phase) with a private state file, for N seconds of seeded random events:
// disruptions and snapshot restores with random steps (0 included), status
// flips, bounds above the promise, writer stalls, the page file removed and
// recreated, chronyd SIGKILLed (by pid) and restarted (at least one per 30 s:
// ≥ 120 an hour), SIGHUPs to the daemon.
//
// Events come one after another (an episode waits for the daemon's reaction
// to its fault, and for it to track again, before the next starts), except
// that a chronyd outage may contain a disruption. The choices are drawn from
// a SplitMix64 seeded with --seed; the restart quota (one per 30 s of elapsed
// time) interleaves them by the clock.
//
// Time. Everything below is CLOCK_REALTIME on this machine (nothing here or
// in chronyd -x moves it): the daemon's log stamps (taken when the line is
// logged, truncated to the µs), a sample's tv (the daemon's CLOCK_REALTIME
// read of the cross-timestamp the sample was computed from, truncated to the
// µs), the kernel's SO_TIMESTAMPNS on the relay's socket (`q`: taken inside
// the daemon's sendto, when the datagram is queued), and the simulator's
// published_ns (read right after it finished writing the page). vmclockd
// does everything on one thread, and in a look it logs what it saw (state
// changes, disruptions) before it decides whether to send. So for a line
// stamped s and a sample queued at q: s ≤ q − 1 µs means the line was logged
// before the send; s > q means after; in between (the µs truncation) either.
// Each check below decides only on the certain cases, in the direction that
// cannot false-alarm.
//
// (a) Disruptions (causality). For disruption k (matched to the daemon's
//     "disruption: …; marker OLD → NEW" line L_k by the marker the simulator
//     acknowledged, with published_ns P_k and the page's new offset O_k):
//     (a1) every sample queued at q ≥ L_k + 1 µs (before the next
//          disruption's line) was read after the daemon logged the
//          disruption, tv ≥ L_k, and carries the current page's offset,
//          |offset − O_k| ≤ 50 µs. Steps are 0 or at least 1 ms, so a sample
//          computed from the page before a non-zero step is recognisable by
//          its offset; for a step of 0, tv ≥ L_k alone tells.
//     (a2) the unavoidable window: the daemon checks the page is unchanged
//          just before sendto, so one sample whose check came before the
//          writer started may be queued after P_k. At most one sample per
//          disruption is queued in [P_k, L_k + 1 µs), and it was read before
//          the page changed, tv < P_k, with the old offset (|offset − O_k−1| ≤
//          50 µs). A second one would mean a look that read the new page
//          without seeing the change.
// (b) Holds. No sample is queued while the daemon's last logged state is not
//     `tracking`: for a sample queued at q, the last "state … → X" line
//     stamped ≤ q − 1 µs must have X = tracking, unless a "→ tracking" line
//     stamped in (q − 1 µs, q] may have come just before the send.
// (c) Resets. Every injected disruption gives exactly one disruption line
//     (and none comes without one), and every disruption N the daemon counts
//     is named by exactly one "chronyd acknowledged 'reset sources' for
//     disruption N" (or "disruptions A–B") line, stamped after the N-th
//     disruption line; at the end none is outstanding.
// (d) chronyd lets go of VMCK in every hold. With chronyd 4.3 (no selectopts)
//     that is its reach register emptying, 8 polls (0.5 s at poll -4), so
//     each deliberate hold (status, bound, stall, device) with chronyd up is
//     kept in place until `chronyc -h PRIVATE -n -c sources` no longer shows
//     VMCK selected ('*'), polled every 100 ms; a hold still selected after
//     10 s is a violation.
// (e) Applications are never told a bound smaller than the true error. At
//     every pump (every 5–10 ms) the soak reads ClockBound's segment as a
//     client that can read the device does (the segment, then its clocks,
//     then the page's marker): where it says Synchronized or FreeRunning
//     under the marker the page still carries, the bound grown to the
//     reader's CLOCK_MONOTONIC_COARSE must be at least |the page's offset
//     under that marker| (the simulator's truth: the system clock is that
//     far from the page's time, and nothing here moves it). The daemon runs
//     with --step-threshold 86400: chronyd -x, asked to step, cannot, but
//     takes its correction as made; never asked, its remaining correction
//     stays the real error and its bound (the segment's when vmclockd holds)
//     is checkable too.
// Also: liveness (each fault gets its reaction and tracking resumes within
// 20 s), the daemon never exits, datagrams are well-formed; at the end
// VmRSS within 16 KiB (4 pages) of the baseline taken after warm-up (which
// runs every kind of event twice), open fds and threads equal; every error or
// critical line in the daemon's log is a failed chronyd request (`chronyd has
// not acknowledged 'reset sources'…`, `chronyd 'X' failed…`) stamped within a
// chronyd outage (from the SIGKILL to 10 s after it was started again).

extension Bench {
    func soak(seconds: Double, seed: UInt64) throws {
        let dir = "\(work)/soak"
        try makeDirectory(dir)
        chmod(dir, 0o755)
        let chronyDir = "\(dir)/chronyd"
        try makeDirectory(chronyDir)  // 0755: chronyd, as _chrony, creates cmd/ in it
        let run = try SoakRun(bench: self, dir: dir, chronyDir: chronyDir, seconds: seconds, seed: seed)
        defer { run.shutDown() }
        try run.run()
        if run.failures > 0 { throw BenchError("soak: \(run.failures) violations (see above and \(dir)/events.txt)") }
    }
}

final class SoakRun {
    typealias Kind = SoakEvent
    typealias Injected = SoakChecks.Injected
    typealias Outage = SoakChecks.Outage

    let bench: Bench
    let dir: String
    let seconds: Double
    let seed: UInt64
    var schedule: SoakSchedule
    let checks: SoakChecks
    let sim: SimulatorProcess
    let chronyd: ChronyProcess
    let relay: SoakRelay
    let daemon: Child
    let log: String
    let tail: LogTail
    let events: Int32
    let started = monotonicNanoseconds()
    /// The page's offset now.
    var offset: Int64
    var chronydUp = true

    var counts: [Kind: Int] = [:]
    var deselect: [Double] = [], holdsUnselectedAtStart = 0, holdsChecked = 0
    var toAck: [Double] = [], toResume: [Double] = []

    init(bench: Bench, dir: String, chronyDir: String, seconds: Double, seed: UInt64) throws {
        self.bench = bench
        self.dir = dir
        self.seconds = seconds
        self.seed = seed
        schedule = SoakSchedule(seed: seed)
        offset = bench.offsetNanoseconds
        events = open("\(dir)/events.txt", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        checks = SoakChecks(initialOffset: bench.offsetNanoseconds) { [events, bench] check, detail, count in
            Self.note(events, "VIOLATION \(check): \(detail)")
            if count <= 5 { bench.progress("VIOLATION \(check): \(detail)") }
        }
        sim = try SimulatorProcess(
            page: "\(dir)/vmclock0", settings: ["offset_ns=\(offset)", "time_maxerror_ns=10000"], binary: bench.simulator,
            stderr: .file("\(dir)/vmclock-sim.stderr"))
        let line = try bench.chronyConfigLine(["--refclock-socket", "\(chronyDir)/vmclock.sock"], log: "\(dir)/chrony-config.txt")
        chronyd = try ChronyProcess(directory: chronyDir, refclockLine: line)
        relay = try SoakRelay(listeningAt: "\(dir)/relay.sock", forwardingTo: chronyd.refclockPath)
        log = "\(dir)/vmclockd.log"
        tail = LogTail(path: log)
        let options = ["--device", sim.pagePath, "--refclock-socket", relay.path, "--control-socket", chronyd.commandPath,
                       "--state-file", "\(dir)/page-identity", "--status-file", "\(dir)/status.json", "--metrics-file", "\(dir)/vmclockd.prom",
                       // chronyd -x cannot step the clock; asked to (makestep), it fails, yet takes its own
                       // correction as made, and its model of the clock parts from the real one. Never
                       // asked, its remaining correction stays the real error, so (e) can hold chronyd's
                       // bound to the truth too. makestep itself is tested in ChronyClientsTests and DaemonCore.
                       "--step-threshold", "86400"]
        daemon = try bench.startDaemon(options, log: log)
        bench.progress("soak: \(Int(seconds)) s, seed \(seed); chronyd 4.3 (pid \(chronyd.pid ?? -1), '\(line)'); relay \(relay.path) → \(chronyd.refclockPath); vmclockd \(options.joined(separator: " ")) (pid \(daemon.pid))")
    }

    func shutDown() {
        daemon.stop()
        relay.stop()
        chronyd.stop()
        sim.stop()
        close(events)
    }

    // MARK: bookkeeping

    func note(_ text: String) { Self.note(events, text) }

    /// A stamped line in events.txt.
    static func note(_ events: Int32, _ text: String) {
        let line = "\(realtimeNanoseconds()) \(text)\n"
        _ = line.withCString { write(events, $0, strlen($0)) }
    }

    func violation(_ check: String, _ detail: String) { checks.violation(check, detail) }

    var elapsed: Double { Double(monotonicNanoseconds() - started) * 1e-9 }

    /// (e): the page's offset under each marker the simulator acknowledged.
    var truthByMarker: [UInt64: Int64] = [:]
    var segmentReads: [Int32: Int] = [:]
    var segmentUnmatched = 0
    var segmentMargins: [Double] = []
    var segmentPath: String { DaemonProcess.beside(log, "clockbound/shm0") }

    /// (e) on one read of the segment.
    func checkSegment() {
        guard let read = SegmentRead.read(segmentPath) else { return }
        let coarse = coarseNanoseconds()
        guard let marker = pageMarker(sim.pagePath) else { return }
        segmentReads[read.status, default: 0] += 1
        judge(read, coarse: coarse, pageMarker: marker)
    }

    /// (e): a read that claims a bound, under the marker the page still
    /// carries, must claim at least the true error.
    func judge(_ read: SegmentRead, coarse: Int64, pageMarker marker: UInt64) {
        guard read.status == SegmentRead.synchronized || read.status == SegmentRead.freeRunning, read.marker == marker,
              coarse < read.voidAfterNanoseconds
        else { return }
        guard let truth = truthByMarker[marker] else {
            segmentUnmatched += 1
            return
        }
        let bound = read.bound(atCoarse: coarse)
        if bound < truth.magnitude {
            violation("e", "the segment says \(read.status == 1 ? "Synchronized" : "FreeRunning") within \(bound) ns; the true error is \(truth.magnitude) ns (marker \(marker))")
        } else if segmentMargins.count < 1_000_000 {
            segmentMargins.append(Double(bound) / Double(max(1, truth.magnitude)))
        }
    }

    /// (e)'s own test: the last Synchronized read's marker with a bound of 1 ns must be caught.
    func rehearseSegment() -> String {
        guard let (marker, truth) = truthByMarker.first(where: { $0.value.magnitude > 1 }) else { return "segment: no truth to test (e) with" }
        let saved = checks.violations["e"]
        checks.rehearsing = true
        defer { checks.rehearsing = false; checks.violations["e"] = saved }
        checks.violations["e"] = nil
        let forged = SegmentRead(version: 2, generation: 2, asOfNanoseconds: coarseNanoseconds(),
                                 voidAfterNanoseconds: coarseNanoseconds() + 5_000_000_000, bound: 1, marker: marker, maxDrift: 0,
                                 status: SegmentRead.synchronized, disruptionSupport: 1)
        judge(forged, coarse: forged.asOfNanoseconds, pageMarker: marker)
        let caught = checks.violations["e"] != nil
        if !caught { checks.violation("rehearsal", "a segment claiming 1 ns against \(truth.magnitude) ns was not caught by (e)") }
        return "segment claiming 1 ns against a true error of \(truth.magnitude) ns: caught by " + (caught ? "e" : "nothing")
    }

    /// Takes in new log lines and samples.
    func pump() throws {
        checkSegment()
        try checkInterruption()
        if daemon.hasExited {
            violation("daemon", "vmclockd exited (\(daemon.exitDescription))")
            throw BenchError("vmclockd exited (\(daemon.exitDescription)) during the soak")
        }
        for text in tail.newLines() {
            if let line = LogLine(text) { checks.take(line, offset: offset) }
        }
        checks.samples += relay.take()
    }

    /// Pumps for `seconds`.
    func idle(_ seconds: Double) throws {
        let end = monotonicNanoseconds() + Int64(seconds * 1e9)
        while monotonicNanoseconds() < end {
            try pump()
            usleep(10_000)
        }
    }

    /// The first line at index ≥ `from` that matches, waiting up to `seconds`.
    func waitLine(from: Int, within seconds: Double, _ match: (LogLine) -> Bool) throws -> LogLine? {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        var index = from
        while true {
            try pump()
            while index < checks.lines.count {
                if match(checks.lines[index]) { return checks.lines[index] }
                index += 1
            }
            if monotonicNanoseconds() > deadline { return nil }
            usleep(5_000)
        }
    }

    var state: String { checks.transitions.last?.to ?? "starting" }

    /// Waits until the daemon's last state is tracking; a liveness violation after `seconds`.
    @discardableResult
    func waitTracking(_ why: String, within seconds: Double = 20) throws -> Bool {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        while true {
            try pump()
            if state == "tracking" { return true }
            if monotonicNanoseconds() > deadline {
                violation("liveness", "not tracking \(seconds) s after \(why) (state \(state))")
                return false
            }
            usleep(5_000)
        }
    }

    func selected() -> Bool {
        chronyd.chronyc(["sources"], timeout: 5).split(separator: "\n").contains { $0.hasPrefix("#,*,VMCK") }
    }

    // MARK: events

    func send(_ command: String) throws -> [String: String] {
        note("sim: \(command)")
        if command == "remove" { checks.removals.append((realtimeNanoseconds(), nil)) }
        if command == "recreate" { checks.removals[checks.removals.count - 1].recreated = realtimeNanoseconds() }
        return try sim.send(command, within: 10)
    }

    /// `disrupt`/`restore`: waits for the daemon's disruption line; with
    /// chronyd up also for the acknowledgement and the resumption.
    func disruption(_ kind: Kind, restore: Bool) throws {
        let step = schedule.step(at: offset, start: bench.offsetNanoseconds)
        let mark = checks.lines.count
        let before = offset
        let ack = try send(restore ? "restore step_ns=\(step)" : "disrupt step_ns=\(step)")
        guard let marker = ack["marker"], let published = ack["published_ns"].flatMap(Int64.init),
            let after = ack["offset_ns"].flatMap(Int64.init)
        else { throw BenchError("vmclock-sim answered \(ack)") }
        offset = after
        if let number = UInt64(marker) { truthByMarker[number] = after }
        checks.injected.append(Injected(kind: kind, marker: marker, published: published, offsetBefore: before, offsetAfter: after))
        let number = checks.disruptionLines.count + 1
        guard try waitLine(from: mark, within: 10, { $0.disruptionMarker == marker }) != nil else {
            violation("c", "no disruption line within 10 s for marker \(marker) (\(kind.rawValue), step \(step))")
            return
        }
        guard chronydUp else { return }
        try awaitAck(number, published: published)
        if try waitTracking("disruption \(number)") { toResume.append(Double((checks.transitions.last?.stamp ?? 0) - published) * 1e-9) }
    }

    func awaitAck(_ number: Int, published: Int64) throws {
        let deadline = monotonicNanoseconds() + 20_000_000_000
        while !checks.acks.contains(where: { $0.range.contains(number) }) {
            if monotonicNanoseconds() > deadline {
                violation("c", "disruption \(number) not acknowledged within 20 s of chronyd being up")
                return
            }
            try pump()
            usleep(5_000)
        }
        if let a = checks.acks.first(where: { $0.range.contains(number) }) { toAck.append(Double(a.stamp - published) * 1e-9) }
    }

    /// A deliberate hold: `inject`, the daemon's "→ holding/…" line, chronyd
    /// letting go of VMCK (d), a random dwell, `release`, tracking again.
    func hold(_ kind: Kind, inject: String, release: String, within: Double = 10) throws {
        try waitTracking("the previous event")
        // chronyd 4.3 selects VMCK again ~0.8 s after a reset or start: give it time, so (d) means something.
        let deadline = monotonicNanoseconds() + 8_000_000_000
        var wasSelected = selected()
        while !wasSelected, monotonicNanoseconds() < deadline {
            try idle(0.2)
            wasSelected = selected()
        }
        if !wasSelected { holdsUnselectedAtStart += 1 }
        let mark = checks.lines.count
        _ = try send(inject)
        guard let held = try waitLine(from: mark, within: within, { $0.stateReached?.hasPrefix("holding/") == true }) else {
            violation("liveness", "no hold within \(within) s of '\(inject)'")
            _ = try send(release)
            return
        }
        holdsChecked += 1
        var released: Double?
        let cap = monotonicNanoseconds() + 10_000_000_000
        while monotonicNanoseconds() < cap {
            try pump()
            if !selected() {
                released = Double(realtimeNanoseconds() - held.stamp) * 1e-9
                break
            }
            usleep(100_000)
        }
        if let released { deselect.append(released) } else {
            violation("d", "chronyd still selecting VMCK 10 s into the hold of '\(inject)' (\(held.message.prefix(60)))")
        }
        try idle(schedule.pause(0..<1.5))
        _ = try send(release)
        try waitTracking("'\(release)'")
    }

    func chronydRestart(withDisruption: Bool) throws {
        note("chronyd: SIGKILL pid \(chronyd.pid ?? -1)")
        checks.outages.append(Outage(killed: realtimeNanoseconds(), restarted: nil))
        chronyd.crash()
        chronydUp = false
        try idle(schedule.pause(0..<1.5))
        var pending: (number: Int, published: Int64)?
        if withDisruption {
            let number = checks.disruptionLines.count + 1
            try disruption(.disruptWhileDown, restore: schedule.coin())
            pending = (number, checks.injected.last!.published)
            try idle(schedule.pause(0..<2))
        }
        try chronyd.start()
        checks.outages[checks.outages.count - 1].restarted = realtimeNanoseconds()
        chronydUp = true
        note("chronyd: started, pid \(chronyd.pid ?? -1)")
        if let pending {
            try awaitAck(pending.number, published: pending.published)
            try waitTracking("chronyd's restart")
        }
    }

    func perform(_ kind: Kind) throws {
        counts[kind, default: 0] += 1
        note("event \(kind.rawValue)")
        switch kind {
        case .disrupt: try disruption(kind, restore: false)
        case .restore: try disruption(kind, restore: true)
        case .status:
            let status = schedule.unusableStatus()
            try hold(kind, inject: "set clock_status=\(status)", release: "set clock_status=synchronized")
        case .freerunning:
            _ = try send("set clock_status=freerunning")
            try idle(schedule.pause(0.2..<1.5))
            _ = try send("set clock_status=synchronized")
            try waitTracking("freerunning")
        case .bound:
            let bound = schedule.boundAbovePromise()
            try hold(kind, inject: "set time_maxerror_ns=\(bound)", release: "set time_maxerror_ns=10000")
        case .stall: try hold(kind, inject: "stall", release: "unstall")
        case .shortStall:
            _ = try send("stall")
            try idle(schedule.pause(0.01..<0.09))
            _ = try send("unstall")
            try waitTracking("a short stall")
        case .remove: try hold(kind, inject: "remove", release: "recreate")
        case .quickRemove:
            _ = try send("remove")
            try idle(schedule.pause(0.01..<0.5))
            _ = try send("recreate")
            try waitTracking("a quick remove/recreate")
            try idle(1.5)  // the daemon's stat() once a second may find the new file only now
            try waitTracking("a quick remove/recreate")
        case .chronydRestart: try chronydRestart(withDisruption: false)
        case .disruptWhileDown: try chronydRestart(withDisruption: true)
        case .sighup:
            let mark = checks.lines.count
            note("SIGHUP to vmclockd pid \(daemon.pid)")
            kill(daemon.pid, SIGHUP)
            if try waitLine(from: mark, within: 10, { $0.message.hasPrefix("SIGHUP: reopening") }) == nil {
                violation("liveness", "no 'SIGHUP: reopening' line within 10 s")
            }
            try waitTracking("SIGHUP")
        }
    }

    var restarts: Int { (counts[.chronydRestart] ?? 0) + (counts[.disruptWhileDown] ?? 0) }

    // MARK: the run

    func resources() throws -> (snapshot: ProcSnapshot, fds: Int) {
        (try ProcSnapshot.take(daemon.pid), openDescriptorCount(daemon.pid))
    }

    /// Quiet: tracking, chronyd up for 5 s, VMCK selected (up to 10 s).
    func quiet() throws {
        try waitTracking("the last event")
        try idle(5)
        var waited = 0
        while !selected(), waited < 50 {
            try idle(0.2)
            waited += 1
        }
        try waitTracking("the quiet period")
    }

    func run() throws {
        let end = started + Int64(seconds * 1e9)
        if let marker = pageMarker(sim.pagePath) { truthByMarker[marker] = offset }
        guard try waitLine(from: 0, within: 30, { $0.stateReached == "tracking" }) != nil else {
            throw BenchError("vmclockd never tracked within 30 s: \(readFile(log) ?? "")")
        }
        try idle(1)
        // Warm-up: every kind twice, so every path has run (and allocated) before the baseline.
        for kind in Kind.allCases + Kind.allCases {
            try perform(kind)
            try idle(schedule.pause(0.2..<1))
        }
        try quiet()
        checks.checkSamples(upTo: realtimeNanoseconds() - 2_000_000_000)
        let baseline = try resources()
        let warmedUp = elapsed
        bench.progress("soak: warm-up done after \(fixed(warmedUp, 0)) s: VmRSS \(baseline.snapshot.vmRSS) KiB, RssAnon \(baseline.snapshot.rssAnon) KiB, \(baseline.fds) fds, \(baseline.snapshot.threads) threads")
        var nextReport = monotonicNanoseconds() + 60_000_000_000
        var nextCheck = monotonicNanoseconds() + 10_000_000_000
        let quota = 30.0  // s of elapsed time per chronyd restart
        while monotonicNanoseconds() < end - 15_000_000_000 {
            let kind = schedule.nextEvent(restarts: restarts, elapsed: elapsed, quota: quota)
            try perform(kind)
            try idle(schedule.pause(0.2..<2))
            if monotonicNanoseconds() > nextCheck {
                checks.checkSamples(upTo: realtimeNanoseconds() - 5_000_000_000)
                nextCheck += 10_000_000_000
            }
            if monotonicNanoseconds() > nextReport {
                let r = try resources()
                bench.progress("soak: \(fixed(elapsed, 0)) s, \(counts.values.reduce(0, +)) events, \(restarts) chronyd restarts, \(checks.injected.count) disruptions, \(checks.samples.count) samples, violations \(checks.total); VmRSS \(r.snapshot.vmRSS) KiB, \(r.fds) fds, \(r.snapshot.threads) threads")
                nextReport += 60_000_000_000
            }
        }
        try quiet()
        let final = try resources()
        try idle(1)
        checks.checkSamples(upTo: .max)
        finish(baseline: baseline, final: final, warmedUp: warmedUp)
    }

    func finish(baseline: (snapshot: ProcSnapshot, fds: Int), final: (snapshot: ProcSnapshot, fds: Int), warmedUp: Double) {
        checks.checkResets()
        let (explained, refusedSteps, warnings) = checks.checkErrors()
        let rssGrowth = checks.checkResources(baseline: baseline, final: final)
        let rehearsal = checks.rehearse() + [rehearseSegment()]
        let stopped = bench.stopDaemon(daemon)
        if daemon.exit != .status(0) { violation("daemon", "SIGTERM → \(daemon.exitDescription)") }

        let total = checks.total
        let windows = checks.injected.filter { $0.windowSamples > 0 }
        let (ack, resume, release) = (Summary(toAck), Summary(toResume), Summary(deselect))
        let stepped = checks.injected.filter { $0.offsetAfter != $0.offsetBefore }.count
        bench.say("## 5. Soak (\(fixed(elapsed, 0)) s, seed \(seed); vmclockd at its defaults but --step-threshold 86400, chronyd 4.3 -x behind a recording relay)")
        bench.say()
        bench.say("events (warm-up: every kind twice, \(fixed(warmedUp, 0)) s): " + Kind.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", "))
        bench.say("total \(counts.values.reduce(0, +)) events; chronyd SIGKILLed and restarted \(restarts)×; \(checks.injected.count) disruptions (\(stepped) with a step ≥ 1 ms, \(checks.injected.count - stepped) with none; \(checks.deviceGone) of them the daemon's own on a removed page, 'device gone')")
        bench.say("samples through the relay: \(checks.samples.count) (\(checks.notForwarded) not forwarded: chronyd down; \(checks.unstamped) without a kernel timestamp, unchecked)")
        bench.say("(a) window samples (queued after the publication, before the daemon's disruption line; read before it): \(windows.reduce(0) { $0 + $1.windowSamples }) over \(windows.count) of \(checks.injected.count) disruptions, latest \(fixed(Double(windows.map(\.windowLatest).max() ?? 0) * 1e-6, 3)) ms after published_ns")
        bench.say("(c) disruption lines \(checks.disruptionLines.count), acknowledgement lines \(checks.acks.count) (naming \(checks.acks.reduce(0) { $0 + $1.range.count }) disruptions); published_ns → acknowledged, s: median \(fixed(ack.p50, 3))  p99 \(fixed(ack.p99, 3))  max \(fixed(ack.maximum, 3)); → tracking again: median \(fixed(resume.p50, 3))  max \(fixed(resume.maximum, 3))")
        bench.say("(d) deliberate holds with chronyd up: \(holdsChecked) (\(holdsUnselectedAtStart) began with VMCK not selected: chronyd not yet back after a reset or restart); hold line → chronyd no longer selecting VMCK (chronyc every 100 ms), s: median \(fixed(release.p50, 3))  p99 \(fixed(release.p99, 3))  max \(fixed(release.maximum, 3))")
        bench.say("resources after warm-up → at the end: VmRSS \(baseline.snapshot.vmRSS) → \(final.snapshot.vmRSS) KiB (\(rssGrowth >= 0 ? "+" : "")\(rssGrowth)), RssAnon \(baseline.snapshot.rssAnon) → \(final.snapshot.rssAnon) KiB, VmHWM \(final.snapshot.vmHWM) KiB, fds \(baseline.fds) → \(final.fds), threads \(baseline.snapshot.threads) → \(final.snapshot.threads)")
        bench.say("log: \(checks.lines.count) lines; error lines \(checks.lines.filter { $0.level == "error" || $0.level == "critical" }.count), all explained (by chronyd outages, or chronyd -x refusing makestep: \(refusedSteps)): \(explained == checks.lines.filter { $0.level == "error" || $0.level == "critical" }.count ? "yes" : "no"); warnings by kind: " + warnings.sorted { $0.value > $1.value }.map { "\($0.value)× \($0.key)…" }.joined(separator: "; "))
        let margins = Summary(segmentMargins)
        bench.say("(e) segment reads by status (0 unknown, 1 synchronized, 2 free-running, 3 disrupted): " + segmentReads.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "; bound ÷ true error where a bound was claimed: median \(fixed(margins.p50, 2)), min \(fixed(margins.minimum, 3)); \(segmentUnmatched) reads under a marker not yet recorded, unchecked")
        bench.say("the checks' own test (one forged sample added to the recording, checked again): " + rehearsal.joined(separator: "; "))
        bench.say("stop: \(stopped)")
        bench.say("violations: \(total)" + (total == 0 ? "" : " — " + checks.violations.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.count) (first: \($0.value[0]))" }.joined(separator: "; ")))
        bench.say()
        var csv = "index,kind,marker,published_ns,offset_before_ns,offset_after_ns,line_ns,window_samples\n"
        for (i, d) in checks.injected.enumerated() {
            csv += "\(i + 1),\(d.kind.rawValue),\(d.marker),\(d.published),\(d.offsetBefore),\(d.offsetAfter),\(d.line.map(String.init) ?? ""),\(d.windowSamples)\n"
        }
        try? writeFile("\(dir)/disruptions.csv", csv)
        failures = total
    }

    var failures = 0

}
