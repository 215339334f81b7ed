import ChronyClients
import ChronyProtocol
import PeerHarness
#if canImport(Glibc)
import Glibc
#endif

/// What every phase needs: the binaries, a work folder, the report.
final class Bench {
    let vmclockd: String
    let simulator: String
    let work: String
    let offsetNanoseconds: Int64
    private(set) var report: [String] = []

    init(vmclockd: String, simulator: String, work: String, offsetNanoseconds: Int64) {
        self.vmclockd = vmclockd
        self.simulator = simulator
        self.work = work
        self.offsetNanoseconds = offsetNanoseconds
    }

    func say(_ line: String = "") {
        report.append(line)
        print(line)
    }

    func progress(_ line: String) { printError("[\(fixed(Double(monotonicNanoseconds() - started) * 1e-9, 0)) s] \(line)") }
    private let started = monotonicNanoseconds()

    /// `vmclockd run` with these options, its standard error (the log) to `log`.
    /// Never the machine's /run/clockbound: the segment goes beside the log unless `options` say where.
    func startDaemon(_ options: [String], log: String) throws -> Child {
        let segment = options.contains("--clockbound-segment") ? [] : ["--clockbound-segment", DaemonProcess.beside(log, "clockbound/shm0")]
        return try Child(name: "vmclockd", arguments: [vmclockd, "run"] + options + segment, stdout: .file(log), stderr: .file(log))
    }

    /// Waits for the first datagram on `recorder`.
    func firstDatagram(_ recorder: RefclockRecorder, daemon: Child, within seconds: Double) throws -> RefclockRecorder.Datagram {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        while monotonicNanoseconds() < deadline {
            try checkInterruption()
            if daemon.hasExited { throw BenchError("vmclockd exited (\(daemon.exitDescription)) before sending a sample") }
            if let first = recorder.receive(waitingUpTo: 50).first { return first }
        }
        throw BenchError("no sample from vmclockd within \(seconds) s")
    }

    /// SIGTERM; the time to exit and how it exited.
    func stopDaemon(_ daemon: Child) -> String {
        let seconds = daemon.stop().seconds
        return "SIGTERM → \(daemon.exitDescription) after \(fixed(seconds * 1000, 1)) ms"
    }

    func lifetimeCPU(_ child: Child) -> Double {
        let u = child.usage
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
    }
}

// MARK: - 1 + 3a: sample accuracy and CPU per sample at 16 Hz

extension Bench {
    func accuracy(samples target: Int, interval: Double) throws {
        let dir = "\(work)/accuracy"
        try makeDirectory(dir)
        let sim = try SimulatorProcess(
            page: "\(dir)/vmclock0", settings: ["offset_ns=\(offsetNanoseconds)"], binary: simulator, stderr: .file("\(dir)/vmclock-sim.stderr"))
        defer { sim.stop() }
        let recorder = try RefclockRecorder(path: "\(dir)/refclock.sock")
        let options = [
            "--device", sim.pagePath, "--refclock-socket", recorder.path, "--state-file", "\(dir)/page-identity", "--status-file", "\(dir)/status.json", "--metrics-file", "\(dir)/vmclockd.prom",
            // No chronyd here: nothing in this phase talks to it.
            "--control-socket", "\(dir)/no-chronyd/chronyd.sock", "--interval", "\(interval)",
        ]
        let started = monotonicNanoseconds()
        let daemon = try startDaemon(options, log: "\(dir)/vmclockd.log")
        defer { daemon.stop() }
        progress("accuracy: vmclockd \(options.joined(separator: " ")) (pid \(daemon.pid)); collecting \(target) samples")

        var datagrams = [try firstDatagram(recorder, daemon: daemon, within: 30)]
        let startUp = Double(monotonicNanoseconds() - started) * 1e-9
        let first = try ProcSnapshot.take(daemon.pid)
        let deadline = monotonicNanoseconds() + Int64((Double(target) * interval * 1.5 + 60) * 1e9)
        var nextReport = monotonicNanoseconds() + 60_000_000_000
        while datagrams.count < target {
            try checkInterruption()
            if daemon.hasExited { throw BenchError("vmclockd exited (\(daemon.exitDescription)) during the run") }
            guard monotonicNanoseconds() < deadline else { throw BenchError("only \(datagrams.count) samples in time") }
            datagrams += recorder.receive(waitingUpTo: 100)
            if monotonicNanoseconds() > nextReport {
                progress("accuracy: \(datagrams.count) samples")
                nextReport += 60_000_000_000
            }
        }
        let last = try ProcSnapshot.take(daemon.pid)
        let stopped = stopDaemon(daemon)
        let lifetime = Double(monotonicNanoseconds() - started) * 1e-9

        let injected = Double(offsetNanoseconds) * 1e-9
        // Well-formed as the report says: 40 bytes (so decoded), magic SOCK, pulse 0, pad 0.
        let wellFormed = datagrams.filter { d in
            d.sample.map { $0.magic == RefclockRecorder.Sample.chronyMagic && $0.pulse == 0 && $0.pad == 0 } ?? false
        }
        let samples = wellFormed.compactMap(\.sample)
        let errors = samples.map { ($0.offset - injected) * 1e9 }
        let absolute = Summary(errors.map(abs))
        let signed = Summary(errors)
        let spacing = zip(samples.dropFirst(), samples).map { Double($0.tvNanoseconds - $1.tvNanoseconds) * 1e-6 }
        let spacingSummary = Summary(spacing)
        let missing = spacing.filter { $0 > interval * 1500 }.reduce(0) { $0 + Int(($1 / (interval * 1000)).rounded()) - 1 }
        let latency = Summary(zip(wellFormed, samples).map { Double($0.receivedNanoseconds - $1.tvNanoseconds) * 1e-3 })
        let queued = Summary(zip(wellFormed, samples).compactMap { d, s in d.queuedNanoseconds.map { Double($0 - s.tvNanoseconds) * 1e-3 } })
        let leaps = Set(samples.map(\.leap))
        let use = CPUUse(from: first, to: last)
        let perSample = use.cpuSeconds / Double(datagrams.count - 1)

        var csv = "index,tv_sec,tv_usec,offset_s,error_ns,received_realtime_ns,queued_realtime_ns,length,magic,pulse,leap,pad\n"
        for (i, d) in datagrams.enumerated() {
            let s = d.sample, offset = s?.offset ?? .nan
            csv += "\(i),\(s?.tvSeconds ?? 0),\(s?.tvMicroseconds ?? 0),\(offset),\((offset - injected) * 1e9),\(d.receivedNanoseconds),\(d.queuedNanoseconds.map(String.init) ?? ""),\(d.length),\(s?.magic ?? 0),\(s?.pulse ?? -1),\(s?.leap ?? -1),\(s?.pad ?? -1)\n"
        }
        try writeFile("\(dir)/samples.csv", csv)

        say("## 1. Sample accuracy (vmclockd run --interval \(interval), vmclock-sim offset_ns=\(offsetNanoseconds))")
        say()
        say("start-up to first sample: \(fixed(startUp, 2)) s; collected \(datagrams.count) datagrams over \(fixed(use.wallSeconds, 1)) s (\(fixed(Double(datagrams.count - 1) / use.wallSeconds, 3)) /s)")
        say("well-formed (40 bytes, magic SOCK, pulse 0, pad 0): \(wellFormed.count); malformed: \(datagrams.count - wellFormed.count); leap values seen: \(leaps.sorted())")
        say("error = offset − injected (offset: true − system at tv, as chronyd reads it), ns:")
        say("  signed:   mean \(fixed(signed.mean, 1))  stddev \(fixed(signed.standardDeviation, 1))  min \(fixed(signed.minimum, 1))  p50 \(fixed(signed.p50, 1))  max \(fixed(signed.maximum, 1))")
        let deciles = (1...9).map { d -> String in
            let sorted = errors.sorted()
            return fixed(sorted[max(0, Int((Double(d) / 10 * Double(sorted.count)).rounded(.up)) - 1)], 0)
        }
        say("  signed deciles p10…p90: \(deciles.joined(separator: " "))")
        // vmclockd sends tv truncated to the µs and an offset measured from
        // that truncated instant, so the error holds the truncated part, in
        // [0, 1000) ns. What lies outside that range is the rest of the error.
        let below = errors.filter { $0 < 0 }, above = errors.filter { $0 >= 1000 }
        say("  outside [0, 1000) ns: \(below.count) below\(below.min().map { " (lowest \(fixed($0, 1)))" } ?? ""), \(above.count) at or above\(above.max().map { " (highest \(fixed($0, 1)))" } ?? "")")
        say("  |error|:  mean \(fixed(absolute.mean, 1))  stddev \(fixed(absolute.standardDeviation, 1))  p50 \(fixed(absolute.p50, 1))  p90 \(fixed(absolute.p90, 1))  p99 \(fixed(absolute.p99, 1))  p99.9 \(fixed(absolute.p999, 1))  max \(fixed(absolute.maximum, 1))")
        say("tv spacing, ms: p50 \(fixed(spacingSummary.p50, 3))  p99 \(fixed(spacingSummary.p99, 3))  min \(fixed(spacingSummary.minimum, 3))  max \(fixed(spacingSummary.maximum, 3)); samples missing from the 1/\(interval) s schedule: \(missing)")
        say("tv → datagram queued on our socket (kernel SO_TIMESTAMPNS), µs: n \(queued.count)  p50 \(fixed(queued.p50, 1))  p99 \(fixed(queued.p99, 1))  max \(fixed(queued.maximum, 1)); → taken off it by the benchmark: p50 \(fixed(latency.p50, 1))  p99 \(fixed(latency.p99, 1))")
        say()
        say("## 3a. CPU per sample and memory at 16 Hz (same daemon, first to last sample)")
        say()
        say("utime+stime (/proc/\(daemon.pid)/stat): \(use.ticks) ticks = \(fixed(use.cpuSeconds, 2)) s over \(fixed(use.wallSeconds, 1)) s = \(fixed(use.percentOfCore, 3)) % of one core (±\(fixed(use.tickResolutionPercent, 3)) % tick resolution)")
        say("CPU per sample: \(fixed(perSample * 1e6, 1)) µs (\(datagrams.count - 1) samples; every sample interval also holds \(Int((interval / 0.010).rounded(.up))) looks at the page)")
        say("schedstat, live threads: \(fixed(use.liveThreadsRuntimeSeconds, 3)) s = \(fixed(use.percentOfCoreSchedstat, 3)) % → \(fixed(use.liveThreadsRuntimeSeconds / Double(datagrams.count - 1) * 1e6, 1)) µs per sample")
        say("context switches (all live threads): \(use.switchesText); threads: \(last.threads); CPU per voluntary switch (≈ per look): \(fixed(use.liveThreadsRuntimeSeconds / Double(max(use.voluntarySwitches, 1)) * 1e6, 1)) µs")
        say("memory at the end: VmHWM \(last.vmHWM) KiB, VmRSS \(last.vmRSS) KiB (RssAnon \(last.rssAnon), RssFile \(last.rssFile)); at the first sample: VmHWM \(first.vmHWM), VmRSS \(first.vmRSS) KiB")
        say("whole life (wait4 rusage, \(fixed(lifetime, 1)) s incl. start-up): CPU \(fixed(lifetimeCPU(daemon), 3)) s = \(fixed(lifetimeCPU(daemon) / lifetime * 100, 3)) %; ru_maxrss \(daemon.usage.ru_maxrss) KiB (Linux carries it over execve from the spawner, here this benchmark at VmHWM \(ownPeakRSS()) KiB: use VmHWM)")
        say("stop: \(stopped)")
        say()
    }
}

// MARK: - 2: disruption reaction time, with a real private chronyd

extension Bench {
    struct Bump {
        var delay: Double
        var marker: String
        var published: Int64
        var disruption: Int64?
        var resetDone: Int64?
        var resetFailed: String?
        var resumed: Int64?
    }

    func reaction(count: Int) throws {
        let dir = "\(work)/reaction"
        try makeDirectory(dir)
        let chronyDir = "\(dir)/chronyd"
        try makeDirectory(chronyDir)  // 0755: chronyd, as _chrony, creates cmd/ in it
        let sim = try SimulatorProcess(
            page: "\(dir)/vmclock0", settings: ["offset_ns=\(offsetNanoseconds)"], binary: simulator, stderr: .file("\(dir)/vmclock-sim.stderr"))
        defer { sim.stop() }
        let options = [
            "--device", sim.pagePath, "--refclock-socket", "\(chronyDir)/vmclock.sock", "--state-file", "\(dir)/page-identity", "--status-file", "\(dir)/status.json", "--metrics-file", "\(dir)/vmclockd.prom",
            "--control-socket", "\(chronyDir)/cmd/chronyd.sock",
        ]
        let refclockLine = try chronyConfigLine(options, log: "\(dir)/chrony-config.out")
        let chronyd = try ChronyProcess(directory: chronyDir, refclockLine: refclockLine)
        defer { chronyd.stop() }
        let log = "\(dir)/vmclockd.log"
        let daemon = try startDaemon(options, log: log)
        defer { daemon.stop() }
        progress("reaction: chronyd -x (pid \(chronyd.pid ?? -1), '\(refclockLine)'); vmclockd \(options.joined(separator: " ")) (pid \(daemon.pid)); \(count) disruptions")
        let tail = LogTail(path: log)
        var pending: [String] = []
        /// The next line (in order) that satisfies `match`, within `seconds`.
        func nextLine(_ seconds: Double, _ match: (String) -> Bool) throws -> String? {
            let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
            while true {
                while !pending.isEmpty {
                    let line = pending.removeFirst()
                    if match(line) { return line }
                }
                try checkInterruption()
                if daemon.hasExited { throw BenchError("vmclockd exited (\(daemon.exitDescription))") }
                if monotonicNanoseconds() > deadline { return nil }
                usleep(2_000)
                pending += tail.newLines()
            }
        }
        guard try nextLine(30, { $0.contains("→ tracking") }) != nil else { throw BenchError("vmclockd did not start tracking within 30 s") }

        var bumps: [Bump] = []
        var generator = SystemRandomNumberGenerator()
        var nextReport = monotonicNanoseconds() + 60_000_000_000
        for _ in 0..<count {
            // Resumed: wait a random 0.25–1.25 s, so the bump falls anywhere in
            // the daemon's look and sample cycles.
            let delay = Double.random(in: 0.25..<1.25, using: &generator)
            try pause(delay)
            pending += tail.newLines()
            let ack = try sim.send("disrupt", within: 5)
            guard let marker = ack["marker"], let published = ack["published_ns"].flatMap(Int64.init) else {
                throw BenchError("no marker/published_ns in vmclock-sim's ack: \(ack)")
            }
            var bump = Bump(delay: delay, marker: marker, published: published)
            let disruption = try nextLine(5) { line in
                guard line.contains(" disruption: "), let range = line.firstRange(of: "→ \(marker)") else { return false }
                return line[range.upperBound...].first.map { !$0.isNumber } ?? true
            }
            bump.disruption = disruption.flatMap(logStamp)
            if disruption != nil {
                let reset = try nextLine(5) { $0.contains("chronyd acknowledged 'reset sources'") || $0.contains("has not acknowledged 'reset sources'") }
                if let reset, reset.contains("chronyd acknowledged") { bump.resetDone = logStamp(reset) } else { bump.resetFailed = reset ?? "no outcome within 5 s" }
                bump.resumed = try nextLine(30) { $0.contains("→ tracking") }.flatMap(logStamp)
            }
            bumps.append(bump)
            if bump.resumed == nil {
                progress("reaction: disruption \(bumps.count) not followed by a resume; stopping here")
                break
            }
            if monotonicNanoseconds() > nextReport {
                progress("reaction: \(bumps.count) disruptions")
                nextReport += 60_000_000_000
            }
        }
        // Tracking again after the last one: let chronyd collect a few
        // samples, to show they reach it.
        try pause(12)
        let sourcestats = chronyc(chronyd, ["sourcestats"], csv: false, output: "\(dir)/chronyc-sourcestats.txt")
        let hwm = try ProcSnapshot.take(daemon.pid)
        let stopped = stopDaemon(daemon)

        // chronyd's own share of (b): the round trip of `reset sources` over
        // its command socket, from a client of our own, vmclockd stopped.
        var roundTrips: [Double] = []
        do {
            let client = try ControlClient(serverPath: chronyd.commandPath)
            for _ in 0..<200 {
                let t0 = monotonicNanoseconds()
                try client.request(.resetSources)
                roundTrips.append(Double(monotonicNanoseconds() - t0) * 1e-3)
            }
        } catch {
            say("reset sources round trip: \(error)")
        }

        var csv = "index,delay_s,marker,published_ns,disruption_log_ns,reset_done_log_ns,resumed_log_ns,reset_failed\n"
        for (i, b) in bumps.enumerated() {
            csv += "\(i),\(b.delay),\(b.marker),\(b.published),\(b.disruption.map(String.init) ?? ""),\(b.resetDone.map(String.init) ?? ""),\(b.resumed.map(String.init) ?? ""),\(b.resetFailed ?? "")\n"
        }
        try writeFile("\(dir)/disruptions.csv", csv)

        let seen = bumps.compactMap { b in b.disruption.map { Double($0 - b.published) * 1e-6 } }
        let reset = bumps.compactMap { b in b.resetDone.map { Double($0 - b.published) * 1e-6 } }
        let gap = bumps.compactMap { b -> Double? in
            guard let d = b.disruption, let r = b.resetDone else { return nil }
            return Double(r - d) * 1e-6
        }
        let resume = bumps.compactMap { b in b.resumed.map { Double($0 - b.published) * 1e-9 } }
        let (a, r, g, h, t) = (Summary(seen), Summary(reset), Summary(gap), Summary(resume), Summary(roundTrips))
        let allLines = (readFile(log) ?? "").split(separator: "\n")
        let errors = allLines.filter { $0.contains(" error ") || $0.contains(" critical ") }

        say("## 2. Disruption reaction (vmclockd run defaults; private chronyd -x)")
        say()
        say("\(bumps.count) disruptions (`disrupt` to vmclock-sim: new disruption_marker), each 0.25–1.25 s (uniform) after the daemon had resumed tracking")
        say("(a) published_ns → the daemon's 'disruption:' line, ms: n \(a.count)  median \(fixed(a.p50, 2))  p90 \(fixed(a.p90, 2))  p99 \(fixed(a.p99, 2))  min \(fixed(a.minimum, 2))  max \(fixed(a.maximum, 2))  mean \(fixed(a.mean, 2))")
        say("(b) published_ns → 'chronyd acknowledged reset sources', ms: n \(r.count)  median \(fixed(r.p50, 2))  p90 \(fixed(r.p90, 2))  p99 \(fixed(r.p99, 2))  min \(fixed(r.minimum, 2))  max \(fixed(r.maximum, 2))  mean \(fixed(r.mean, 2))")
        say("(b) − (a), ms: median \(fixed(g.p50, 2))  p99 \(fixed(g.p99, 2))  min \(fixed(g.minimum, 2))  max \(fixed(g.maximum, 2))")
        say("reset sources failed or unanswered: \(bumps.filter { $0.resetFailed != nil }.count); disruptions not seen within 5 s: \(bumps.filter { $0.disruption == nil }.count)")
        say("published_ns → '→ tracking' again, s: median \(fixed(h.p50, 3))  p99 \(fixed(h.p99, 3))  max \(fixed(h.maximum, 3))")
        say("chronyd's own 'reset sources' round trip (200, our client, vmclockd stopped), µs: median \(fixed(t.p50, 1))  p99 \(fixed(t.p99, 1))  max \(fixed(t.maximum, 1))")
        say("vmclockd: VmHWM \(hwm.vmHWM) KiB, VmRSS \(hwm.vmRSS) KiB, \(hwm.threads) threads at the end; \(errors.count) error lines in its log\(errors.first.map { " (first: \($0))" } ?? "")")
        say("stop: \(stopped); chronyd's VMCK 12 s after the last resume (chronyc sourcestats): \(sourcestats.split(separator: "\n").first { $0.hasPrefix("VMCK") }.map(String.init) ?? "no VMCK row")")
        say()
    }

    /// `vmclockd chrony-config OPTIONS`: the refclock line the daemon wants.
    func chronyConfigLine(_ options: [String], log: String) throws -> String {
        let child = try Child(name: "vmclockd chrony-config", arguments: [vmclockd, "chrony-config"] + options, stdout: .file(log), stderr: .file(log))
        guard child.waitForExit(seconds: 10), child.exitedCleanly,
            let line = readFile(log)?.split(separator: "\n").first, line.hasPrefix("refclock SOCK ")
        else { throw BenchError("vmclockd chrony-config failed: \(readFile(log) ?? "")") }
        return String(line)
    }

    /// `chronyc -h CMDSOCK -n [-c] ARGS` (the host's), its output also kept in `output`.
    func chronyc(_ chronyd: ChronyProcess, _ arguments: [String], csv: Bool, output: String) -> String {
        let result = chronyd.runChronyc(arguments, csv: csv, timeout: 10)
        try? writeFile(output, result.stdout + result.stderr)
        return result.stdout + result.stderr
    }
}
