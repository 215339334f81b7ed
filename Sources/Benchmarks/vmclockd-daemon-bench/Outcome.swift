import ChronyClients
import ChronyProtocol
import PeerHarness
#if canImport(Glibc)
import Glibc
#endif

// MARK: - 4: what chronyd does at the defaults

/// The figures users get: vmclockd at its defaults (`run` with no timing
/// options, the refclock line `chrony-config` prints) feeding a selectable
/// private chronyd (`-x`). "Synchronised" is chronyd's tracking report
/// naming VMCK with the correction it still has to make (with -x it never
/// makes it: the whole offset) within 1 µs of the page's offset, asked with
/// the project's own cmdmon client every 10 ms.
extension Bench {
    struct ChronydFlavor {
        var name: String
        var slug: String
        var chrony: ChronyFlavor
        /// For `.debian13`: the Debian 13 root it runs in.
        var root = ChronyProcess.trixieRoot
    }

    func outcome(disruptions count: Int, holds: Int, flavor: ChronydFlavor) throws {
        let dir = "\(work)/outcome-\(flavor.slug)"
        try makeDirectory(dir)
        chmod(dir, 0o755)
        var offset = offsetNanoseconds
        let sim = try SimulatorProcess(
            page: "\(dir)/vmclock0", settings: ["offset_ns=\(offset)"], binary: simulator, stderr: .file("\(dir)/vmclock-sim.stderr"))
        defer { sim.stop() }
        let line = try chronyConfigLine(["--refclock-socket", "\(dir)/vmclock.sock"], log: "\(dir)/chrony-config.txt")
        let chronyd = try ChronyProcess(directory: dir, refclockLine: line, flavor: flavor.chrony, root: flavor.root)
        defer { chronyd.stop() }
        let client = try ControlClient(serverPath: chronyd.commandPath)
        client.timeoutMilliseconds = 200
        let log = "\(dir)/vmclockd.log"
        let options = ["--device", sim.pagePath, "--refclock-socket", chronyd.refclockPath, "--control-socket", chronyd.commandPath,
                       "--state-file", "\(dir)/page-identity", "--status-file", "\(dir)/status.json", "--metrics-file", "\(dir)/vmclockd.prom"]
        let tail = LogTail(path: log)
        let started = realtimeNanoseconds()
        let daemon = try startDaemon(options, log: log)
        defer { daemon.stop() }
        progress("outcome \(flavor.name): '\(line)'; vmclockd \(options.joined(separator: " ")) (pid \(daemon.pid))")

        /// CLOCK_REALTIME of the next daemon line matching `match`.
        func nextLine(_ seconds: Double, _ match: (String) -> Bool) throws -> Int64? {
            let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
            while monotonicNanoseconds() < deadline {
                try checkInterruption()
                if let hit = tail.newLines().first(where: match) { return logStamp(hit) }
                usleep(2_000)
            }
            return nil
        }
        /// CLOCK_REALTIME when chronyd first reports being synchronised to VMCK at `offset`.
        func synchronised(_ seconds: Double) throws -> Int64? {
            let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
            while monotonicNanoseconds() < deadline {
                try checkInterruption()
                let asked = realtimeNanoseconds()
                if let t = try? client.request(.tracking).tracking, t.referenceIDText == "VMCK",
                    abs(t.currentCorrection - Double(offset) * 1e-9) <= 1e-6
                {
                    return asked
                }
                usleep(10_000)
            }
            return nil
        }
        func selected() -> Bool {
            chronyc(chronyd, ["sources"], csv: true, output: "\(dir)/sources.txt")
                .split(separator: "\n").contains { $0.hasPrefix("#,*,VMCK") }
        }

        let firstSample = try nextLine(10) { $0.contains("→ tracking") }
        let startSynced = try synchronised(30)
        var toSample: [Double] = [], toSynced: [Double] = [], unsynced = 0
        for i in 0..<count {
            try pause(Double.random(in: 1.0..<2.0))
            _ = tail.newLines()
            let ack = try sim.send("disrupt step_ns=1000000", within: 5)
            offset += 1_000_000
            guard let published = ack["published_ns"].flatMap(Int64.init) else { throw BenchError("ack \(ack)") }
            if let resumed = try nextLine(10, { $0.contains("→ tracking") }) { toSample.append(Double(resumed - published) * 1e-9) }
            if let synced = try synchronised(20) { toSynced.append(Double(synced - published) * 1e-9) } else { unsynced += 1 }
            if (i + 1) % 10 == 0 { progress("outcome \(flavor.name): \(i + 1) disruptions") }
        }
        var released: [Double] = []
        for _ in 0..<holds {
            guard (try? eventuallyTrue(20, selected)) == true else { break }
            let held = realtimeNanoseconds()
            _ = try sim.send("set clock_status=unreliable", within: 5)
            let deadline = monotonicNanoseconds() + 20_000_000_000
            while selected(), monotonicNanoseconds() < deadline { usleep(20_000) }
            released.append(Double(realtimeNanoseconds() - held) * 1e-9)
            _ = try sim.send("set clock_status=synchronized", within: 5)
        }
        let errors = (readFile(log) ?? "").split(separator: "\n").filter { $0.contains(" error ") || $0.contains(" critical ") }
        let (a, b, h) = (Summary(toSample), Summary(toSynced), Summary(released))
        say("## 4. chronyd's outcome at the defaults, \(flavor.name) (\(line.split(separator: " ").dropFirst(2).joined(separator: " ")))")
        say()
        say("start → first sample (the daemon's '→ tracking' line): \(firstSample.map { fixed(Double($0 - started) * 1e-9, 3) } ?? "never") s; start → chronyd synchronised to VMCK within 1 µs: \(startSynced.map { fixed(Double($0 - started) * 1e-9, 3) } ?? "never") s")
        say("\(count) disruptions with a 1 ms step, each 1–2 s after the last:")
        say("  disruption (published_ns) → first new sample, s: n \(a.count)  median \(fixed(a.p50, 3))  p90 \(fixed(a.p90, 3))  max \(fixed(a.maximum, 3))")
        say("  disruption → chronyd synchronised within 1 µs of the new truth, s: n \(b.count)  median \(fixed(b.p50, 3))  p90 \(fixed(b.p90, 3))  max \(fixed(b.maximum, 3)); not within 20 s: \(unsynced)")
        say("hold (clock_status=unreliable) → chronyd no longer selecting VMCK (chronyc sources every ~20 ms, so up to that late), s: n \(h.count)  median \(fixed(h.p50, 3))  max \(fixed(h.maximum, 3))")
        say("error lines in vmclockd's log: \(errors.count)\(errors.first.map { " (first: \($0))" } ?? "")")
        say()
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    func eventuallyTrue(_ seconds: Double, _ condition: () -> Bool) throws -> Bool {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        while monotonicNanoseconds() < deadline {
            try checkInterruption()
            if condition() { return true }
            usleep(20_000)
        }
        return false
    }
}
