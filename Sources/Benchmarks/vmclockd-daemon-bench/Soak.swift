import Dispatch
import PeerHarness
import Synchronization
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
// Also: liveness (each fault gets its reaction and tracking resumes within
// 20 s), the daemon never exits, datagrams are well-formed; at the end
// VmRSS within 16 KiB (4 pages) of the baseline taken after warm-up (which
// runs every kind of event twice), open fds and threads equal; every error or
// critical line in the daemon's log is a failed chronyd request (`chronyd has
// not acknowledged 'reset sources'…`, `chronyd 'X' failed…`) stamped within a
// chronyd outage (from the SIGKILL to 10 s after it was started again).

/// The relay for the soak: a `RefclockRecorder` drained on a thread of its
/// own, forwarding every datagram to chronyd, handing compact records to the
/// caller (`take()`), so an hour of samples costs a few MB.
final class SoakRelay: Sendable {
    struct Record: Sendable {
        /// Kernel queue time (SO_TIMESTAMPNS), else when taken off the socket.
        var queued: Int64
        var kernelStamped: Bool
        var tv: Int64
        var offsetNanoseconds: Double
        var wellFormed: Bool
        var forwarded: Bool
    }

    private let recorder: RefclockRecorder
    private let pending = Mutex<[Record]>([])
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(listeningAt path: String, forwardingTo forwardPath: String) throws {
        recorder = try RefclockRecorder(path: path, forwardingTo: forwardPath)
        DispatchQueue(label: "soak-relay").async { [self] in
            while !stopping.load(ordering: .acquiring) {
                let new = recorder.receive(waitingUpTo: 20).map { d -> Record in
                    let s = d.sample
                    return Record(
                        queued: d.queuedNanoseconds ?? d.receivedNanoseconds, kernelStamped: d.queuedNanoseconds != nil,
                        tv: s?.tvNanoseconds ?? 0, offsetNanoseconds: (s?.offset ?? .nan) * 1e9,
                        wellFormed: s.map { $0.isWellFormed && $0.pulse == 0 && $0.pad == 0 } ?? false, forwarded: d.wasForwarded)
                }
                if !new.isEmpty { pending.withLock { $0 += new } }
            }
            finished.signal()
        }
    }

    deinit { stop() }

    var path: String { recorder.path }

    /// Everything received since the last call, in arrival order.
    func take() -> [Record] {
        pending.withLock { records in
            defer { records = [] }
            return records
        }
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopping.store(true, ordering: .releasing)
        _ = finished.wait(timeout: .now() + 2)
        recorder.close()
    }
}

/// A seeded generator (SplitMix64): the same seed, the same choices.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Open descriptors of a process (entries of /proc/PID/fd).
func openDescriptorCount(_ pid: pid_t) -> Int {
    guard let dir = opendir("/proc/\(pid)/fd") else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if Int(name) != nil { count += 1 }
    }
    return count
}

/// One parsed line of the daemon's log.
struct DaemonLine {
    var stamp: Int64
    var level: String
    var message: String
    var text: String

    init?(_ line: String) {
        guard let stamp = logStamp(line) else { return nil }
        let rest = line.dropFirst(28)
        guard let space = rest.firstIndex(of: " ") else { return nil }
        self.stamp = stamp
        level = String(rest[..<space])
        message = String(rest[rest.index(after: space)...].drop { $0 == " " })
        text = line
    }

    /// "state A → B…": B ("tracking", "holding/status", …).
    var stateReached: String? {
        guard message.hasPrefix("state "), let rest = Self.after(message[...], "→ ") else { return nil }
        return String(rest.prefix { $0 != ":" && $0 != " " && $0 != ";" })
    }

    /// "disruption…: …; marker OLD → NEW…": NEW.
    var disruptionMarker: String? {
        guard message.hasPrefix("disruption"), let marker = Self.after(message[...], "marker "),
            let new = Self.after(marker, "→ ")
        else { return nil }
        return String(new.prefix { $0.isNumber })
    }

    /// What follows the first `needle` in `text`.
    static func after(_ text: Substring, _ needle: String) -> Substring? {
        let n = Array(needle.unicodeScalars)
        let scalars = text.unicodeScalars
        var i = scalars.startIndex
        while i != scalars.endIndex {
            var j = i, k = 0
            while k < n.count, j != scalars.endIndex, scalars[j] == n[k] {
                j = scalars.index(after: j)
                k += 1
            }
            if k == n.count { return Substring(scalars[j...]) }
            i = scalars.index(after: i)
        }
        return nil
    }

    /// "chronyd acknowledged 'reset sources' for disruption N" / "disruptions A–B".
    var acknowledged: ClosedRange<Int>? {
        let prefix = "chronyd acknowledged 'reset sources' for disruption"
        guard message.hasPrefix(prefix) else { return nil }
        let rest = message.dropFirst(prefix.count).drop { $0 == "s" || $0 == " " }
        let numbers = rest.prefix { $0.isNumber || $0 == "–" || $0 == "-" }.split { $0 == "–" || $0 == "-" }.compactMap { Int($0) }
        guard let first = numbers.first else { return nil }
        let last = numbers.count > 1 ? numbers[1] : first
        return first <= last ? first...last : nil
    }
}

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
    enum Kind: String, CaseIterable {
        case disrupt, restore, status, freerunning, bound, stall, shortStall = "short-stall", remove, quickRemove = "quick-remove"
        case chronydRestart = "chronyd-restart", disruptWhileDown = "chronyd-restart+disrupt", sighup
    }

    struct Injected {
        var kind: Kind
        var marker: String
        var published: Int64
        var offsetBefore: Int64
        var offsetAfter: Int64
        /// The daemon's disruption line, once seen.
        var line: Int64?
        var lines = 0
        var windowSamples = 0
        var windowLatest: Int64 = 0
    }

    struct Outage { var killed: Int64; var restarted: Int64? }

    let bench: Bench
    let dir: String
    let seconds: Double
    let seed: UInt64
    var rng: SplitMix64
    let sim: SimulatorProcess
    let chronyd: ChronyProcess
    let relay: SoakRelay
    let daemon: Child
    let log: String
    let tail: LogTail
    let events: Int32
    let started = monotonicNanoseconds()

    /// Every parsed log line so far.
    var lines: [DaemonLine] = []
    var transitions: [(stamp: Int64, to: String)] = []
    var disruptionLines: [Int64] = []
    var acks: [(stamp: Int64, range: ClosedRange<Int>)] = []
    var injected: [Injected] = []
    var outages: [Outage] = []
    var removals: [(removed: Int64, recreated: Int64?)] = []
    var deviceGone = 0
    var offset: Int64
    var chronydUp = true

    // Samples: all kept (40 bytes each); checked in order up to a horizon.
    var samples: [SoakRelay.Record] = []
    var checked = 0
    var transitionIndex = 0
    var epochIndex = 0
    var unstamped = 0
    var notForwarded = 0

    var violations: [String: [String]] = [:]
    var counts: [Kind: Int] = [:]
    var deselect: [Double] = [], holdsUnselectedAtStart = 0, holdsChecked = 0
    var toAck: [Double] = [], toResume: [Double] = []

    static let tolerance = 50_000.0  // ns: a sample's offset against its page's

    init(bench: Bench, dir: String, chronyDir: String, seconds: Double, seed: UInt64) throws {
        self.bench = bench
        self.dir = dir
        self.seconds = seconds
        self.seed = seed
        rng = SplitMix64(seed: seed)
        offset = bench.offsetNanoseconds
        events = open("\(dir)/events.txt", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        sim = try SimulatorProcess(
            page: "\(dir)/vmclock0", settings: ["offset_ns=\(offset)", "time_maxerror_ns=10000"], binary: bench.simulator,
            stderr: .file("\(dir)/vmclock-sim.stderr"))
        let line = try bench.chronyConfigLine(["--refclock-socket", "\(chronyDir)/vmclock.sock"], log: "\(dir)/chrony-config.txt")
        chronyd = try ChronyProcess(directory: chronyDir, refclockLine: line)
        relay = try SoakRelay(listeningAt: "\(dir)/relay.sock", forwardingTo: chronyd.refclockPath)
        log = "\(dir)/vmclockd.log"
        tail = LogTail(path: log)
        let options = ["--device", sim.pagePath, "--refclock-socket", relay.path, "--control-socket", chronyd.commandPath,
                       "--state-file", "\(dir)/page-identity", "--status-file", "\(dir)/status.json", "--metrics-file", "\(dir)/vmclockd.prom"]
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

    func note(_ text: String) {
        let line = "\(realtimeNanoseconds()) \(text)\n"
        _ = line.withCString { write(events, $0, strlen($0)) }
    }

    func violation(_ check: String, _ detail: String) {
        violations[check, default: []].append(detail)
        if rehearsing { return }
        note("VIOLATION \(check): \(detail)")
        if violations[check]!.count <= 5 { bench.progress("VIOLATION \(check): \(detail)") }
    }

    var elapsed: Double { Double(monotonicNanoseconds() - started) * 1e-9 }

    /// Takes in new log lines and samples.
    func pump() throws {
        try checkInterruption()
        if daemon.hasExited {
            violation("daemon", "vmclockd exited (\(daemon.exitDescription))")
            throw BenchError("vmclockd exited (\(daemon.exitDescription)) during the soak")
        }
        for text in tail.newLines() {
            guard let line = DaemonLine(text) else { continue }
            lines.append(line)
            if let to = line.stateReached { transitions.append((line.stamp, to)) }
            if let marker = line.disruptionMarker {
                disruptionLines.append(line.stamp)
                if marker.isEmpty {
                    // "device gone or page invalid; marker N → ?": the daemon counts a vanished page as a
                    // disruption. Caused by us only within a removal: from `remove` to 3 s after `recreate`.
                    // No window (a2): the daemon notices a removal by stat(), once a second, and the old
                    // page it still has mapped stays valid until then.
                    if removals.contains(where: { line.stamp >= $0.removed && line.stamp <= ($0.recreated.map { $0 + 3_000_000_000 } ?? .max) }) {
                        injected.append(Injected(kind: .remove, marker: "?", published: line.stamp, offsetBefore: offset, offsetAfter: offset,
                                                 line: line.stamp, lines: 1))
                        deviceGone += 1
                    } else {
                        violation("c", "a 'device gone' disruption with no removal of the page: \(text)")
                    }
                } else if let i = injected.lastIndex(where: { $0.marker == marker }) {
                    injected[i].lines += 1
                    if injected[i].lines == 1 { injected[i].line = line.stamp } else {
                        violation("c", "a second disruption line for marker \(marker): \(text)")
                    }
                } else {
                    violation("c", "a disruption line with no injected disruption: \(text)")
                }
            }
            if let range = line.acknowledged { acks.append((line.stamp, range)) }
        }
        samples += relay.take()
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
    func waitLine(from: Int, within seconds: Double, _ match: (DaemonLine) -> Bool) throws -> DaemonLine? {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        var index = from
        while true {
            try pump()
            while index < lines.count {
                if match(lines[index]) { return lines[index] }
                index += 1
            }
            if monotonicNanoseconds() > deadline { return nil }
            usleep(5_000)
        }
    }

    var state: String { transitions.last?.to ?? "starting" }

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
        if command == "remove" { removals.append((realtimeNanoseconds(), nil)) }
        if command == "recreate" { removals[removals.count - 1].recreated = realtimeNanoseconds() }
        return try sim.send(command, within: 10)
    }

    /// A step of 0 (a quarter of them) or ±1 ms…1 s, log-uniform, kept within ±3 s of the start.
    func randomStep() -> Int64 {
        if Double.random(in: 0..<1, using: &rng) < 0.25 { return 0 }
        let magnitude = Int64((1e6 * Double.random(in: 0..<1, using: &rng).exponential(base: 1000)).rounded())
        var step = Bool.random(using: &rng) ? magnitude : -magnitude
        if abs(offset + step - bench.offsetNanoseconds) > 3_000_000_000 { step = -step }
        return step
    }

    /// `disrupt`/`restore`: waits for the daemon's disruption line; with
    /// chronyd up also for the acknowledgement and the resumption.
    func disruption(_ kind: Kind, restore: Bool) throws {
        let step = randomStep()
        let mark = lines.count
        let before = offset
        let ack = try send(restore ? "restore step_ns=\(step)" : "disrupt step_ns=\(step)")
        guard let marker = ack["marker"], let published = ack["published_ns"].flatMap(Int64.init),
            let after = ack["offset_ns"].flatMap(Int64.init)
        else { throw BenchError("vmclock-sim answered \(ack)") }
        offset = after
        injected.append(Injected(kind: kind, marker: marker, published: published, offsetBefore: before, offsetAfter: after))
        let number = disruptionLines.count + 1
        guard try waitLine(from: mark, within: 10, { $0.disruptionMarker == marker }) != nil else {
            violation("c", "no disruption line within 10 s for marker \(marker) (\(kind.rawValue), step \(step))")
            return
        }
        guard chronydUp else { return }
        try awaitAck(number, published: published)
        if try waitTracking("disruption \(number)") { toResume.append(Double((transitions.last?.stamp ?? 0) - published) * 1e-9) }
    }

    func awaitAck(_ number: Int, published: Int64) throws {
        let deadline = monotonicNanoseconds() + 20_000_000_000
        while !acks.contains(where: { $0.range.contains(number) }) {
            if monotonicNanoseconds() > deadline {
                violation("c", "disruption \(number) not acknowledged within 20 s of chronyd being up")
                return
            }
            try pump()
            usleep(5_000)
        }
        if let a = acks.first(where: { $0.range.contains(number) }) { toAck.append(Double(a.stamp - published) * 1e-9) }
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
        let mark = lines.count
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
        try idle(Double.random(in: 0..<1.5, using: &rng))
        _ = try send(release)
        try waitTracking("'\(release)'")
    }

    func chronydRestart(withDisruption: Bool) throws {
        note("chronyd: SIGKILL pid \(chronyd.pid ?? -1)")
        outages.append(Outage(killed: realtimeNanoseconds(), restarted: nil))
        chronyd.crash()
        chronydUp = false
        try idle(Double.random(in: 0..<1.5, using: &rng))
        var pending: (number: Int, published: Int64)?
        if withDisruption {
            let number = disruptionLines.count + 1
            try disruption(.disruptWhileDown, restore: Bool.random(using: &rng))
            pending = (number, injected.last!.published)
            try idle(Double.random(in: 0..<2, using: &rng))
        }
        try chronyd.start()
        outages[outages.count - 1].restarted = realtimeNanoseconds()
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
            let status = ["unknown", "initializing", "unreliable"].randomElement(using: &rng)!
            try hold(kind, inject: "set clock_status=\(status)", release: "set clock_status=synchronized")
        case .freerunning:
            _ = try send("set clock_status=freerunning")
            try idle(Double.random(in: 0.2..<1.5, using: &rng))
            _ = try send("set clock_status=synchronized")
            try waitTracking("freerunning")
        case .bound:
            let bound = Int64(Double.random(in: 1.5..<50, using: &rng) * 1e6)  // above the 1 ms promise
            try hold(kind, inject: "set time_maxerror_ns=\(bound)", release: "set time_maxerror_ns=10000")
        case .stall: try hold(kind, inject: "stall", release: "unstall")
        case .shortStall:
            _ = try send("stall")
            try idle(Double.random(in: 0.01..<0.09, using: &rng))
            _ = try send("unstall")
            try waitTracking("a short stall")
        case .remove: try hold(kind, inject: "remove", release: "recreate")
        case .quickRemove:
            _ = try send("remove")
            try idle(Double.random(in: 0.01..<0.5, using: &rng))
            _ = try send("recreate")
            try waitTracking("a quick remove/recreate")
            try idle(1.5)  // the daemon's stat() once a second may find the new file only now
            try waitTracking("a quick remove/recreate")
        case .chronydRestart: try chronydRestart(withDisruption: false)
        case .disruptWhileDown: try chronydRestart(withDisruption: true)
        case .sighup:
            let mark = lines.count
            note("SIGHUP to vmclockd pid \(daemon.pid)")
            kill(daemon.pid, SIGHUP)
            if try waitLine(from: mark, within: 10, { $0.message.hasPrefix("SIGHUP: reopening") }) == nil {
                violation("liveness", "no 'SIGHUP: reopening' line within 10 s")
            }
            try waitTracking("SIGHUP")
        }
    }

    static let weights: [(Kind, Double)] = [
        (.disrupt, 22), (.restore, 10), (.status, 10), (.freerunning, 4), (.bound, 9), (.stall, 8), (.shortStall, 4),
        (.remove, 6), (.quickRemove, 4), (.sighup, 8), (.chronydRestart, 3), (.disruptWhileDown, 3),
    ]

    func randomKind() -> Kind {
        let total = Self.weights.reduce(0) { $0 + $1.1 }
        var x = Double.random(in: 0..<total, using: &rng)
        for (kind, weight) in Self.weights {
            if x < weight { return kind }
            x -= weight
        }
        return .disrupt
    }

    var restarts: Int { (counts[.chronydRestart] ?? 0) + (counts[.disruptWhileDown] ?? 0) }

    // MARK: the checks on samples (a, b)

    /// Checks every sample queued before `horizon`, in order.
    func checkSamples(upTo horizon: Int64) {
        let sortedTransitions = transitions  // logged in stamp order by one thread
        while checked < samples.count, samples[checked].queued < horizon {
            let r = samples[checked]
            checked += 1
            if !r.forwarded { notForwarded += 1 }
            guard r.wellFormed else {
                violation("a", "malformed datagram queued at \(r.queued)")
                continue
            }
            guard r.kernelStamped else {
                unstamped += 1
                continue
            }
            let q = r.queued
            // (b)
            while transitionIndex < sortedTransitions.count, sortedTransitions[transitionIndex].stamp <= q - 1000 { transitionIndex += 1 }
            let current = transitionIndex > 0 ? sortedTransitions[transitionIndex - 1].to : "starting"
            if current != "tracking" {
                let justResumed = sortedTransitions[transitionIndex...].prefix { $0.stamp <= q }.contains { $0.to == "tracking" }
                if !justResumed { violation("b", "sample (tv \(r.tv)) queued at \(q) while the daemon was in \(current)") }
            }
            // (a1): the epoch is the last disruption whose line is certainly before the send.
            while epochIndex < injected.count, let line = injected[epochIndex].line, line + 1000 <= q { epochIndex += 1 }
            let expected = epochIndex > 0 ? injected[epochIndex - 1].offsetAfter : bench.offsetNanoseconds
            if epochIndex > 0, let line = injected[epochIndex - 1].line, r.tv < line {
                violation("a1", "sample read at \(r.tv), before the daemon's disruption line (\(line)), queued at \(q) after it")
            }
            if abs(r.offsetNanoseconds - Double(expected)) > Self.tolerance {
                violation("a1", "sample queued at \(q) carries offset \(fixed(r.offsetNanoseconds, 0)) ns, its page's is \(expected) ns")
            }
            // (a2): the window between the publication and the daemon's line.
            if epochIndex < injected.count, injected[epochIndex].published <= q {
                injected[epochIndex].windowSamples += 1
                injected[epochIndex].windowLatest = max(injected[epochIndex].windowLatest, q - injected[epochIndex].published)
                if injected[epochIndex].windowSamples > 1 {
                    violation("a2", "a second sample queued at \(q) after disruption \(epochIndex + 1) was published (\(injected[epochIndex].published)) and before the daemon logged it")
                }
                if r.tv >= injected[epochIndex].published {
                    violation("a2", "sample queued at \(q) in disruption \(epochIndex + 1)'s window was read at \(r.tv), after the publication")
                }
            }
        }
    }

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
        guard try waitLine(from: 0, within: 30, { $0.stateReached == "tracking" }) != nil else {
            throw BenchError("vmclockd never tracked within 30 s: \(readFile(log) ?? "")")
        }
        try idle(1)
        // Warm-up: every kind twice, so every path has run (and allocated) before the baseline.
        for kind in Kind.allCases + Kind.allCases {
            try perform(kind)
            try idle(Double.random(in: 0.2..<1, using: &rng))
        }
        try quiet()
        checkSamples(upTo: realtimeNanoseconds() - 2_000_000_000)
        let baseline = try resources()
        let warmedUp = elapsed
        bench.progress("soak: warm-up done after \(fixed(warmedUp, 0)) s: VmRSS \(baseline.snapshot.vmRSS) KiB, RssAnon \(baseline.snapshot.rssAnon) KiB, \(baseline.fds) fds, \(baseline.snapshot.threads) threads")
        var nextReport = monotonicNanoseconds() + 60_000_000_000
        var nextCheck = monotonicNanoseconds() + 10_000_000_000
        let quota = 30.0  // s of elapsed time per chronyd restart
        while monotonicNanoseconds() < end - 15_000_000_000 {
            let kind: Kind = Double(restarts) < elapsed / quota ? (Bool.random(using: &rng) ? .chronydRestart : .disruptWhileDown) : randomKind()
            try perform(kind)
            try idle(Double.random(in: 0.2..<2, using: &rng))
            if monotonicNanoseconds() > nextCheck {
                checkSamples(upTo: realtimeNanoseconds() - 5_000_000_000)
                nextCheck += 10_000_000_000
            }
            if monotonicNanoseconds() > nextReport {
                let r = try resources()
                bench.progress("soak: \(fixed(elapsed, 0)) s, \(counts.values.reduce(0, +)) events, \(restarts) chronyd restarts, \(injected.count) disruptions, \(samples.count) samples, violations \(violations.values.reduce(0) { $0 + $1.count }); VmRSS \(r.snapshot.vmRSS) KiB, \(r.fds) fds, \(r.snapshot.threads) threads")
                nextReport += 60_000_000_000
            }
        }
        try quiet()
        let final = try resources()
        try idle(1)
        checkSamples(upTo: .max)
        finish(baseline: baseline, final: final, warmedUp: warmedUp)
    }

    func finish(baseline: (snapshot: ProcSnapshot, fds: Int), final: (snapshot: ProcSnapshot, fds: Int), warmedUp: Double) {
        // (c): every injected disruption once, every number acknowledged exactly once, after its line.
        for (i, d) in injected.enumerated() where d.lines == 0 {
            violation("c", "disruption \(i + 1) (\(d.kind.rawValue), marker \(d.marker)) never logged")
        }
        if disruptionLines.count != injected.count {
            violation("c", "\(disruptionLines.count) disruption lines for \(injected.count) injected disruptions")
        }
        var covered = [Int](repeating: 0, count: disruptionLines.count + 1)
        for ack in acks {
            for n in ack.range {
                guard n >= 1, n <= disruptionLines.count else {
                    violation("c", "acknowledgement for disruption \(n), which the daemon never logged")
                    continue
                }
                covered[n] += 1
                if ack.stamp < disruptionLines[n - 1] { violation("c", "disruption \(n) acknowledged before it was logged") }
            }
        }
        for n in 1..<covered.count where covered[n] != 1 {
            violation("c", "disruption \(n) acknowledged \(covered[n]) times")
        }
        // Errors: only failed chronyd requests during an outage.
        var explained = 0, refusedSteps = 0
        var warnings: [String: Int] = [:]
        for line in lines {
            if line.level == "warning" { warnings[String(line.message.prefix(40)), default: 0] += 1 }
            guard line.level == "error" || line.level == "critical" else { continue }
            let request = line.message.hasPrefix("chronyd has not acknowledged 'reset sources'") || line.message.hasPrefix("chronyd '")
            let inOutage = outages.contains { o in
                line.stamp >= o.killed && line.stamp <= (o.restarted.map { $0 + 10_000_000_000 } ?? .max)
            }
            // chronyd -x (the harness never lets it touch the clock) refuses `makestep`, which the daemon
            // asks for after a disruption when chronyd still has more than --step-threshold (0.5 s) to
            // correct: with -x it never corrects, so whenever the page is more than 0.5 s from the system clock.
            let truth = injected.last { ($0.line ?? .max) <= line.stamp }?.offsetAfter ?? bench.offsetNanoseconds
            let refusedStep = line.message.hasPrefix("chronyd 'makestep' failed: chronyd refused 'makestep'") && abs(truth) > 500_000_000
            if request && inOutage { explained += 1 } else if refusedStep {
                explained += 1
                refusedSteps += 1
            } else { violation("errors", line.text) }
        }
        // Resources.
        let rssGrowth = final.snapshot.vmRSS - baseline.snapshot.vmRSS
        if rssGrowth > 16 { violation("resources", "VmRSS grew \(rssGrowth) KiB (\(baseline.snapshot.vmRSS) → \(final.snapshot.vmRSS))") }
        if final.fds != baseline.fds { violation("resources", "open fds \(baseline.fds) → \(final.fds)") }
        if final.snapshot.threads != baseline.snapshot.threads {
            violation("resources", "threads \(baseline.snapshot.threads) → \(final.snapshot.threads)")
        }
        let rehearsal = rehearse()
        let stopped = bench.stopDaemon(daemon)
        if daemon.exit != .status(0) { violation("daemon", "SIGTERM → \(daemon.exitDescription)") }

        let total = violations.values.reduce(0) { $0 + $1.count }
        let windows = injected.filter { $0.windowSamples > 0 }
        let (ack, resume, release) = (Summary(toAck), Summary(toResume), Summary(deselect))
        let stepped = injected.filter { $0.offsetAfter != $0.offsetBefore }.count
        bench.say("## 5. Soak (\(fixed(elapsed, 0)) s, seed \(seed); vmclockd at its defaults, chronyd 4.3 -x behind a recording relay)")
        bench.say()
        bench.say("events (warm-up: every kind twice, \(fixed(warmedUp, 0)) s): " + Kind.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", "))
        bench.say("total \(counts.values.reduce(0, +)) events; chronyd SIGKILLed and restarted \(restarts)×; \(injected.count) disruptions (\(stepped) with a step ≥ 1 ms, \(injected.count - stepped) with none; \(deviceGone) of them the daemon's own on a removed page, 'device gone')")
        bench.say("samples through the relay: \(samples.count) (\(notForwarded) not forwarded: chronyd down; \(unstamped) without a kernel timestamp, unchecked)")
        bench.say("(a) window samples (queued after the publication, before the daemon's disruption line; read before it): \(windows.reduce(0) { $0 + $1.windowSamples }) over \(windows.count) of \(injected.count) disruptions, latest \(fixed(Double(windows.map(\.windowLatest).max() ?? 0) * 1e-6, 3)) ms after published_ns")
        bench.say("(c) disruption lines \(disruptionLines.count), acknowledgement lines \(acks.count) (naming \(acks.reduce(0) { $0 + $1.range.count }) disruptions); published_ns → acknowledged, s: median \(fixed(ack.p50, 3))  p99 \(fixed(ack.p99, 3))  max \(fixed(ack.maximum, 3)); → tracking again: median \(fixed(resume.p50, 3))  max \(fixed(resume.maximum, 3))")
        bench.say("(d) deliberate holds with chronyd up: \(holdsChecked) (\(holdsUnselectedAtStart) began with VMCK not selected: chronyd not yet back after a reset or restart); hold line → chronyd no longer selecting VMCK (chronyc every 100 ms), s: median \(fixed(release.p50, 3))  p99 \(fixed(release.p99, 3))  max \(fixed(release.maximum, 3))")
        bench.say("resources after warm-up → at the end: VmRSS \(baseline.snapshot.vmRSS) → \(final.snapshot.vmRSS) KiB (\(rssGrowth >= 0 ? "+" : "")\(rssGrowth)), RssAnon \(baseline.snapshot.rssAnon) → \(final.snapshot.rssAnon) KiB, VmHWM \(final.snapshot.vmHWM) KiB, fds \(baseline.fds) → \(final.fds), threads \(baseline.snapshot.threads) → \(final.snapshot.threads)")
        bench.say("log: \(lines.count) lines; error lines \(lines.filter { $0.level == "error" || $0.level == "critical" }.count), all explained (by chronyd outages, or chronyd -x refusing makestep: \(refusedSteps)): \(explained == lines.filter { $0.level == "error" || $0.level == "critical" }.count ? "yes" : "no"); warnings by kind: " + warnings.sorted { $0.value > $1.value }.map { "\($0.value)× \($0.key)…" }.joined(separator: "; "))
        bench.say("the checks' own test (one forged sample added to the recording, checked again): " + rehearsal.joined(separator: "; "))
        bench.say("stop: \(stopped)")
        bench.say("violations: \(total)" + (total == 0 ? "" : " — " + violations.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.count) (first: \($0.value[0]))" }.joined(separator: "; ")))
        bench.say()
        var csv = "index,kind,marker,published_ns,offset_before_ns,offset_after_ns,line_ns,window_samples\n"
        for (i, d) in injected.enumerated() {
            csv += "\(i + 1),\(d.kind.rawValue),\(d.marker),\(d.published),\(d.offsetBefore),\(d.offsetAfter),\(d.line.map(String.init) ?? ""),\(d.windowSamples)\n"
        }
        try? writeFile("\(dir)/disruptions.csv", csv)
        failures = total
    }

    var failures = 0
    var rehearsing = false

    // MARK: the checks' own test

    /// The checks must be able to fail: the recorded samples are checked again with one forged
    /// sample added, as a daemon with the bug would have sent it. (1) The last sample sent before a
    /// disruption with a step was published, replayed 5 ms after the daemon's disruption line: an
    /// old-page sample after the disruption, during the hold — (a1) and (b). (2) A sample with the
    /// right offset, read and sent 5 ms into a deliberate hold (a "→ holding/" line after
    /// tracking) — (b). Each must be caught; otherwise the soak fails ("self-check").
    func rehearse() -> [String] {
        let saved = (samples, checked, transitionIndex, epochIndex, injected, violations, unstamped, notForwarded)
        rehearsing = true
        var results: [String] = []
        var missed: [String] = []
        func trial(_ name: String, forged: SoakRelay.Record, expect: [String]) {
            var mutated = saved.0
            let at = mutated.firstIndex { $0.queued > forged.queued } ?? mutated.count
            mutated.insert(forged, at: at)
            samples = mutated
            (checked, transitionIndex, epochIndex) = (0, 0, 0)
            injected = saved.4.map { d in
                var d = d
                (d.windowSamples, d.windowLatest) = (0, 0)
                return d
            }
            violations = [:]
            checkSamples(upTo: .max)
            let caught = violations.keys.sorted()
            results.append("\(name): caught by \(caught.isEmpty ? "nothing" : caught.joined(separator: ", "))")
            if !expect.allSatisfy({ violations[$0] != nil }) { missed.append(name) }
        }
        // A disruption with a step, and the last sample sent before it was published (after the one before it).
        let candidates = saved.4.indices.compactMap { k -> (Int, SoakRelay.Record)? in
            let d = saved.4[k]
            guard d.offsetAfter != d.offsetBefore, d.marker != "?", d.line != nil else { return nil }
            let since = k > 0 ? (saved.4[k - 1].line ?? .max) : 0
            return saved.0.last(where: { $0.queued < d.published && $0.queued > since && $0.wellFormed && $0.kernelStamped }).map { (k, $0) }
        }
        if let (k, old) = candidates.dropFirst(candidates.count / 2).first {
            var forged = old
            forged.queued = saved.4[k].line! + 5_000_000
            trial("old-page sample replayed 5 ms after disruption \(k + 1)'s line", forged: forged, expect: ["a1", "b"])
        } else {
            missed.append("no disruption with a step to forge a sample for")
        }
        let holds = transitions.indices.dropFirst().filter { transitions[$0].to.hasPrefix("holding/") && transitions[$0 - 1].to == "tracking" }
        if let h = holds.dropFirst(holds.count / 2).first,
            let before = saved.0.last(where: { $0.queued < transitions[h].stamp && $0.wellFormed && $0.kernelStamped })
        {
            var forged = before
            forged.queued = transitions[h].stamp + 5_000_000
            forged.tv = transitions[h].stamp + 4_000_000
            trial("sample sent 5 ms into a hold (\(transitions[h].to))", forged: forged, expect: ["b"])
        } else {
            missed.append("no hold to forge a sample for")
        }
        (samples, checked, transitionIndex, epochIndex, injected, violations, unstamped, notForwarded) = saved
        rehearsing = false
        for name in missed { violation("self-check", "not caught: \(name)") }
        return results
    }
}

extension Double {
    /// base^self − 1 scaled to [0, 1) → [1, base): log-uniform.
    fileprivate func exponential(base: Double) -> Double { pow(base, self) }
}
