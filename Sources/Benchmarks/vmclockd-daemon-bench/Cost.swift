import PeerHarness
#if canImport(Glibc)
import Glibc
#endif

// MARK: - 3b: what vmclockd costs beside chronyd, at the defaults

/// One process measured over one window.
struct Measured {
    var name: String
    var use: CPUUse
    var end: ProcSnapshot
    /// Heap allocations in the window, where counted (LD_PRELOAD).
    var allocations: UInt64?

    var microsecondsPerWakeUp: Double { use.liveThreadsRuntimeSeconds / Double(max(use.switches, 1)) * 1e6 }
}

extension Bench {
    /// vmclockd at its defaults feeding a private chronyd 4.3 with the
    /// packaged refclock line, measured in the same windows as chronyd and as
    /// a bare poll() loop at the same cadence (this machine's cost of a
    /// wake-up): idle and tracking; then with the host stuck mid-update; then
    /// notifications that cannot work (a device with no poll handler, a
    /// re-arming read that fails). `packaged`: the static binary the .deb
    /// ships, measured for memory beside them.
    func cost(seconds: Double, stallSeconds: Double, packaged: String?, allocationCounter: String?) throws {
        let dir = "\(work)/cost"
        try makeDirectory(dir)
        chmod(dir, 0o755)
        let sim = try SimulatorProcess(
            page: "\(dir)/vmclock0", settings: ["offset_ns=\(offsetNanoseconds)"], binary: simulator, stderr: .file("\(dir)/vmclock-sim.stderr"))
        defer { sim.stop() }
        let line = try chronyConfigLine(["--refclock-socket", "\(dir)/vmclock.sock"], log: "\(dir)/chrony-config.txt")
        let chronyd = try ChronyProcess(directory: dir, refclockLine: line)
        defer { chronyd.stop() }
        let countFile = "\(dir)/allocations.count"
        let preload = allocationCounter.map { ["/usr/bin/env", "LD_PRELOAD=\($0)", "VMCLOCKD_ALLOCATION_COUNT_FILE=\(countFile)"] } ?? []
        let options = ["--device", sim.pagePath, "--refclock-socket", chronyd.refclockPath, "--control-socket", chronyd.commandPath,
                       "--state-file", "\(dir)/page-identity", "--status-file", "\(dir)/status.json", "--metrics-file", "\(dir)/vmclockd.prom"]
        let log = "\(dir)/vmclockd.log"
        let daemon = try Child(name: "vmclockd", arguments: preload + [vmclockd, "run"] + options, stdout: .file(log), stderr: .file(log))
        defer { daemon.stop() }
        let floor = try Child(name: "wake-floor", arguments: [CommandLine.arguments[0], WakeFloor.flag, "0.0625"], stdout: .null, stderr: .null)
        defer { floor.stop() }
        var others: [(String, Child)] = []
        // Drained in every window, so the packaged daemon's samples are taken as chronyd's are.
        let packagedRecorder = try packaged.map { _ in try RefclockRecorder(path: "\(dir)/packaged.sock") }
        if let packaged {
            let child = try Child(
                name: "vmclockd (packaged)", arguments: [packaged, "run", "--device", sim.pagePath, "--refclock-socket", "\(dir)/packaged.sock",
                                                         "--control-socket", "\(dir)/none/chronyd.sock", "--state-file", "none", "--status-file", "\(dir)/status.json", "--metrics-file", "\(dir)/vmclockd.prom"],
                stdout: .file("\(dir)/packaged.log"), stderr: .file("\(dir)/packaged.log"))
            others.append(("vmclockd, packaged static binary (feeding a socket of the benchmark's)", child))
        }
        defer { for (_, child) in others { child.stop() } }
        progress("cost: vmclockd \(options.joined(separator: " ")) (pid \(daemon.pid)) beside chronyd (pid \(chronyd.pid ?? 0), \(line)); \(Int(seconds)) s idle, \(Int(stallSeconds)) s stalled")
        try waitForLine("→ tracking", in: log, daemon: daemon, within: 30)
        try pause(5)

        say("## 3b. What vmclockd costs beside chronyd, at the defaults (one run, same windows)")
        say()
        say("chronyd 4.3 with `\(line)`; vmclockd run at its defaults feeding it; a bare poll() loop at 1/16 s (\(WakeFloor.flag)): this machine's cost of a wake-up")
        let idle = try window(seconds, daemon: daemon, chronyd: chronyd, floor: floor, others: others, countFile: countFile, draining: packagedRecorder)
        report("idle, tracking (\(fixed(seconds, 0)) s)", idle)

        try sim.send("stall")
        try waitForLine("→ holding/busy", in: log, daemon: daemon, within: 10)
        let stalled = try window(stallSeconds, daemon: daemon, chronyd: chronyd, floor: floor, others: [], countFile: countFile, draining: packagedRecorder)
        try sim.send("unstall")
        let busyLines = (readFile(log) ?? "").split(separator: "\n").filter { $0.contains("→ holding/busy") }.count
        report("host stuck mid-update, seq_count odd (\(fixed(stallSeconds, 0)) s); '→ holding/busy' logged \(busyLines)×", stalled)
        try notificationsThatCannotWork(dir: dir, sim: sim, seconds: min(seconds, 30))
    }

    private func waitForLine(_ text: String, in log: String, daemon: Child, within seconds: Double) throws {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        while monotonicNanoseconds() < deadline {
            try checkInterruption()
            if daemon.hasExited { throw BenchError("vmclockd exited (\(daemon.exitDescription))") }
            if readFile(log)?.contains(text) == true { return }
            try pause(0.05)
        }
        throw BenchError("vmclockd never logged '\(text)' within \(seconds) s")
    }

    private func window(
        _ seconds: Double, daemon: Child, chronyd: ChronyProcess, floor: Child, others: [(String, Child)], countFile: String,
        draining recorder: RefclockRecorder?
    ) throws -> [Measured] {
        guard let chronydPid = chronyd.pid else { throw BenchError("chronyd is not running") }
        let pids = [("vmclockd", daemon.pid), ("chronyd", chronydPid), ("bare poll() loop", floor.pid)] + others.map { ($0.0, $0.1.pid) }
        let allocationsBefore = Self.allocations(countFile)
        let before = try pids.map { try ProcSnapshot.take($0.1) }
        let end = monotonicNanoseconds() + Int64(seconds * 1e9)
        while monotonicNanoseconds() < end {
            try checkInterruption()
            if daemon.hasExited { throw BenchError("vmclockd exited (\(daemon.exitDescription))") }
            _ = recorder?.receive(waitingUpTo: 0)
            try pause(min(0.25, Double(end - monotonicNanoseconds()) * 1e-9))
        }
        let after = try pids.map { try ProcSnapshot.take($0.1) }
        let allocationsAfter = Self.allocations(countFile)
        return pids.indices.map { i in
            Measured(name: pids[i].0, use: CPUUse(from: before[i], to: after[i]), end: after[i],
                     allocations: i == 0 ? allocationsAfter.flatMap { a in allocationsBefore.map { a - $0 } } : nil)
        }
    }

    /// The preloaded counter's total so far (8 bytes, native order).
    static func allocations(_ path: String) -> UInt64? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var value: UInt64 = 0
        return read(fd, &value, 8) == 8 ? value : nil
    }

    private func report(_ title: String, _ measured: [Measured]) {
        say()
        say("### \(title)")
        say()
        say("| process | % of one core (schedstat) | wake-ups /s | CPU per wake-up, µs | VmHWM KiB | VmRSS KiB | RssAnon KiB | threads |")
        say("|---|---:|---:|---:|---:|---:|---:|---:|")
        for m in measured {
            say("| \(m.name) | \(fixed(m.use.percentOfCoreSchedstat, 4)) | \(fixed(m.use.switchesPerSecond, 1)) | \(fixed(m.microsecondsPerWakeUp, 1)) | \(m.end.vmHWM) | \(m.end.vmRSS) | \(m.end.rssAnon) | \(m.end.threads) |")
        }
        guard measured.count >= 3 else { return }
        let (daemon, chronyd, floor) = (measured[0], measured[1], measured[2])
        say()
        say("vmclockd ÷ chronyd, CPU: \(fixed(daemon.use.liveThreadsRuntimeSeconds / chronyd.use.liveThreadsRuntimeSeconds, 2))×; together \(fixed(daemon.use.percentOfCoreSchedstat + chronyd.use.percentOfCoreSchedstat, 4)) % of one core")
        say("vmclockd's CPU per wake-up above the bare loop's: \(fixed(daemon.microsecondsPerWakeUp - floor.microsecondsPerWakeUp, 1)) µs")
        if let allocations = daemon.allocations {
            say("vmclockd heap allocations in the window: \(allocations) over \(daemon.use.switches) wake-ups = \(fixed(Double(allocations) / Double(max(daemon.use.switches, 1)), 3)) per wake-up")
        }
    }

    /// A page that sets NOTIFICATION_PRESENT, with notifications taken from
    /// /dev/null (no poll handler: the default mask at once) and /dev/kmsg
    /// (POLLIN while records are unread; a 1-byte read fails): wake-ups and
    /// CPU of each, beside a daemon on the plain file.
    private func notificationsThatCannotWork(dir: String, sim: SimulatorProcess, seconds: Double) throws {
        try sim.send("set flags=+notification_present")
        var children: [(String, Child)] = []
        defer { for (_, child) in children { child.stop() } }
        var recorders: [RefclockRecorder] = []
        for (name, device) in [("regular file (never waited on)", nil), ("/dev/null: no poll handler", "/dev/null"), ("/dev/kmsg: re-arming read fails", "/dev/kmsg")] as [(String, String?)] {
            let slug = device.map { String($0.split(separator: "/").last ?? "") } ?? "file"
            let recorder = try RefclockRecorder(path: "\(dir)/notify-\(slug).sock")
            recorders.append(recorder)
            let log = "\(dir)/notify-\(slug).log"
            let child = try Child(
                name: "vmclockd (\(slug))",
                arguments: [vmclockd, "run", "--device", sim.pagePath, "--refclock-socket", recorder.path,
                            "--control-socket", "\(dir)/none/chronyd.sock", "--state-file", "none", "--status-file", "\(dir)/status.json", "--metrics-file", "\(dir)/vmclockd.prom"]
                    + (device.map { ["--notification-device", $0] } ?? []),
                stdout: .file(log), stderr: .file(log))
            children.append((name, child))
            try waitForLine("→ tracking", in: log, daemon: child, within: 30)
        }
        try pause(2)
        let before = try children.map { try ProcSnapshot.take($0.1.pid) }
        let end = monotonicNanoseconds() + Int64(seconds * 1e9)
        while monotonicNanoseconds() < end {
            try checkInterruption()
            for recorder in recorders { _ = recorder.receive(waitingUpTo: 0) }
            try pause(0.1)
        }
        let after = try children.map { try ProcSnapshot.take($0.1.pid) }
        say()
        say("### notifications that cannot work (page sets NOTIFICATION_PRESENT; \(fixed(seconds, 0)) s; watch interval 1/16 s = 16 looks/s)")
        say()
        say("| notifications from | wake-ups /s | % of one core (schedstat) | CPU per wake-up, µs |")
        say("|---|---:|---:|---:|")
        for i in children.indices {
            let use = CPUUse(from: before[i], to: after[i])
            say("| \(children[i].0) | \(fixed(use.switchesPerSecond, 1)) | \(fixed(use.percentOfCoreSchedstat, 4)) | \(fixed(use.liveThreadsRuntimeSeconds / Double(max(use.switches, 1)) * 1e6, 1)) |")
        }
        try sim.send("set flags=-notification_present")
    }
}

/// `vmclockd-daemon-bench --wake-floor SECONDS`: poll() with nothing to wait
/// on, once every SECONDS, forever. What a wake-up alone costs here.
enum WakeFloor {
    static let flag = "--wake-floor"

    static func runIfAsked(_ arguments: [String]) {
        guard arguments.count == 3, arguments[1] == flag, let seconds = Double(arguments[2]) else { return }
        let milliseconds = Int32(seconds * 1000)
        while true { poll(nil, 0, milliseconds) }
    }
}
