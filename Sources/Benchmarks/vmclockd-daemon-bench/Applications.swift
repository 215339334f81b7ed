import ChronyClients
import ChronyProtocol
import PeerHarness
#if canImport(Glibc)
import Glibc
#endif

// MARK: - 6: what applications are told

extension Bench {
    /// `--phases applications`: vmclockd at its defaults on a page with clock
    /// data (offset `offsetNanoseconds`, 10 µs maximum error), a selectable
    /// chronyd 4.3 -x. The segment is read as a client reads it (SegmentRead,
    /// with the reader's CLOCK_MONOTONIC_COARSE and the page's marker).
    /// 1. Steady state for `seconds`: the bound a client computes ÷ the
    ///    true error (|the page's offset|: nothing moves the clock), every
    ///    10 ms; beside it, from chronyd's tracking report asked every 100 ms,
    ///    what ClockBound's chrony-derived formula (root delay / 2 + root
    ///    dispersion + |correction|) would claim, ÷ the same true error.
    /// 2. `count` disruptions with a ±1 ms step, each after a random 0.25–1.25
    ///    s: published_ns → the first read no longer Synchronized (read every
    ///    100 µs; a client that reads the device says Unknown at the first
    ///    read after published_ns, by construction: the markers differ); and
    ///    from published_ns until chronyd's reset is acknowledged, chronyd's
    ///    tracking every 5 ms: how often and for how long the formula claimed
    ///    less than the new true error while chronyd said it was synchronised.
    func applications(count: Int, seconds: Double) throws {
        let dir = "\(work)/applications"
        try makeDirectory(dir)
        let chronyDir = "\(dir)/chronyd"
        try makeDirectory(chronyDir)
        let sim = try SimulatorProcess(
            page: "\(dir)/vmclock0", settings: ["offset_ns=\(offsetNanoseconds)", "time_maxerror_ns=10000"], binary: simulator,
            stderr: .file("\(dir)/vmclock-sim.stderr"))
        defer { sim.stop() }
        let options = [
            "--device", sim.pagePath, "--refclock-socket", "\(chronyDir)/vmclock.sock", "--state-file", "\(dir)/page-identity",
            "--status-file", "\(dir)/status.json", "--metrics-file", "\(dir)/vmclockd.prom", "--control-socket", "\(chronyDir)/cmd/chronyd.sock",
        ]
        let chronyd = try ChronyProcess(directory: chronyDir, refclockLine: try chronyConfigLine(options, log: "\(dir)/chrony-config.out"))
        defer { chronyd.stop() }
        let log = "\(dir)/vmclockd.log"
        let daemon = try startDaemon(options, log: log)
        defer { daemon.stop() }
        let segment = DaemonProcess.beside(log, "clockbound/shm0")
        let client = try ControlClient(serverPath: chronyd.commandPath)
        var offset = offsetNanoseconds
        progress("applications: chronyd pid \(chronyd.pid ?? -1), vmclockd pid \(daemon.pid); \(Int(seconds)) s steady, \(count) disruptions")
        guard try eventuallyTrue(30, { SegmentRead.read(segment)?.status == SegmentRead.synchronized }) else {
            throw BenchError("the segment never said Synchronized within 30 s: \(readFile(log) ?? "")")
        }

        // 1. Steady state.
        var ours: [Double] = [], formula: [Double] = []
        var formulaBelow = 0
        let end = monotonicNanoseconds() + Int64(seconds * 1e9)
        var nextTracking: Int64 = 0
        while monotonicNanoseconds() < end {
            try checkInterruption()
            if let read = SegmentRead.read(segment), read.status == SegmentRead.synchronized, read.marker == pageMarker(sim.pagePath) {
                ours.append(Double(read.bound(atCoarse: coarseNanoseconds())) / Double(offset.magnitude))
            }
            if monotonicNanoseconds() >= nextTracking, let claim = claimed(client) {
                formula.append(claim / Double(offset.magnitude))
                if claim < Double(offset.magnitude) { formulaBelow += 1 }
                nextTracking = monotonicNanoseconds() + 100_000_000
            }
            usleep(10_000)
        }

        // 2. Disruptions.
        var unsynchronized: [Double] = []
        var wrongWindows: [Double] = [], wrongReports = 0, reportsInWindows = 0
        var generator = SystemRandomNumberGenerator()
        for index in 0..<count {
            try pause(Double.random(in: 0.25..<1.25, using: &generator))
            let step: Int64 = index % 2 == 0 ? 1_000_000 : -1_000_000
            let ack = try sim.send("disrupt step_ns=\(step)", within: 5)
            guard let published = ack["published_ns"].flatMap(Int64.init), let marker = ack["marker"].flatMap(UInt64.init) else {
                throw BenchError("vmclock-sim answered \(ack)")
            }
            offset += step
            var seen: Int64?
            var lastWrong: Int64?
            var nextReport: Int64 = 0
            let limit = monotonicNanoseconds() + 10_000_000_000
            // Until the segment says Synchronized under the new marker (reset acknowledged, tracking again).
            while monotonicNanoseconds() < limit {
                let read = SegmentRead.read(segment)
                let now = realtimeNanoseconds()
                if seen == nil, let read, read.status != SegmentRead.synchronized { seen = now }
                if let read, read.status == SegmentRead.synchronized, read.marker == marker { break }
                if monotonicNanoseconds() >= nextReport, let claim = claimed(client, synchronisedOnly: true) {
                    reportsInWindows += 1
                    if claim < Double(offset.magnitude) {
                        wrongReports += 1
                        lastWrong = realtimeNanoseconds()
                    }
                    nextReport = monotonicNanoseconds() + 5_000_000
                }
                usleep(100)
            }
            if let seen { unsynchronized.append(Double(seen - published) * 1e-6) }
            if let lastWrong { wrongWindows.append(Double(lastWrong - published) * 1e-6) }
        }

        let (o, f, u) = (Summary(ours), Summary(formula), Summary(unsynchronized))
        say("## 6. What applications are told (vmclockd at its defaults, page offset \(offsetNanoseconds) ns with 10 µs maximum error, chronyd 4.3 -x)")
        say()
        say("steady state, \(Int(seconds)) s: the segment's bound as a client computes it ÷ the true error: median \(fixed(o.p50, 3)), min \(fixed(o.minimum, 3)), max \(fixed(o.maximum, 3)) (\(o.count) reads); ClockBound's formula from the same chronyd ÷ the true error: median \(fixed(f.p50, 3)), min \(fixed(f.minimum, 3)) (\(f.count) reports, \(formulaBelow) below the true error)")
        say("disruption (published_ns) → the segment no longer Synchronized, ms: median \(fixed(u.p50, 3))  p99 \(fixed(u.p99, 3))  max \(fixed(u.maximum, 3)) (\(u.count) of \(count)); a client that reads the device: at its first read (the markers differ)")
        say("ClockBound's formula after a ±1 ms migration, while chronyd said synchronised: \(wrongReports) of \(reportsInWindows) tracking reports (every 5 ms until tracking again) claimed less than the new true error, in \(wrongWindows.count) of \(count) disruptions; last such report \(fixed(Summary(wrongWindows).p50, 1)) ms (median) / \(fixed(Summary(wrongWindows).maximum, 1)) ms (max) after published_ns")
        say()
    }

    /// ClockBound's chrony-derived bound from chronyd's tracking report now, ns
    /// (nil: no report; with `synchronisedOnly`, also nil when chronyd says it is not).
    private func claimed(_ client: ControlClient, synchronisedOnly: Bool = false) -> Double? {
        guard let report = try? client.request(.tracking).tracking else { return nil }
        if synchronisedOnly, !report.isSynchronised { return nil }
        return (report.rootDelay / 2 + report.rootDispersion + abs(report.currentCorrection)) * 1e9
    }
}
