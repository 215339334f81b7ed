import ArgumentParser
import PeerHarness
#if canImport(Glibc)
import Glibc
#endif

/// vmclockd-daemon-bench: the daemon's own figures (BENCHMARKS.md, "Daemon").
struct DaemonBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmclockd-daemon-bench",
        abstract: "Benchmark `vmclockd run` against vmclock-sim and a private chronyd, as separate processes.",
        discussion: """
            Phases, in this order (all by default), each with its own simulator, daemon and folder:
              accuracy  vmclockd run --interval 1/16 against vmclock-sim offset_ns=N; every datagram it sends \
            is recorded on the benchmark's own SOCK socket; |offset − N|; CPU per sample and RSS of that daemon
              cost      vmclockd run at its defaults feeding a private chronyd 4.3, beside a bare poll() loop: \
            CPU, wake-ups, CPU per wake-up, heap allocations, memory of each, idle and with the host stuck \
            mid-update; then notifications that cannot work (/dev/null, /dev/kmsg behind the page)
              reaction  vmclockd run at its defaults feeding a private `chronyd -x -d` on private sockets; \
            vmclock-sim `disrupt` again and again: published_ns → the daemon's disruption line and its \
            'chronyd acknowledged reset sources' line
              outcome   vmclockd run at its defaults feeding a selectable chronyd 4.3 (and 4.6 from a Debian 13 \
            root): start → synchronised, disruption with a 1 ms step → first sample and → chronyd synchronised \
            within 1 µs, hold → chronyd no longer selecting VMCK
              applications  ClockBound's segment as a client reads it: the bound ÷ the true error in steady \
            state beside ClockBound's chrony-derived formula, disruption → no longer Synchronized, and how long \
            the formula claims less than the true error after a migration

            Needs root (chronyd binds its refclock socket as root), and vmclockd and vmclock-sim built in \
            release next to this binary. Never touches the system clock or the machine's own chronyd; \
            every process it starts is stopped by its pid. Raw data and logs stay in --work.
            """)

    enum Phase: String, CaseIterable, ExpressibleByArgument { case accuracy, cost, reaction, outcome, applications, soak }

    @Option(parsing: .upToNextOption, help: "Phases to run (accuracy cost reaction outcome applications; soak only when named).")
    var phases: [Phase] = [.accuracy, .cost, .reaction, .outcome, .applications]

    @Option(help: "Length of the soak phase, seconds, warm-up included (≥ 3600 for the full soak; 150 in CI).")
    var soakSeconds = 3700.0

    @Option(help: "Seed of the soak's random schedule (default: from the clock; printed).")
    var seed: UInt64?

    @Option(help: "Folder holding vmclockd and vmclock-sim (default: this binary's own).")
    var bin: String?

    @Option(help: "Folder for logs and raw data (default: a new /tmp/vmclockd-daemon-bench.XXXXXX, kept).")
    var work: String?

    @Option(help: "vmclock-sim's offset_ns: vmclock time − system time.")
    var offsetNs: Int64 = 2_500_000

    @Option(help: "Samples to record in the accuracy phase.")
    var samples = 10_000

    @Option(help: "vmclockd --interval in the accuracy phase.")
    var interval = 0.0625

    @Option(help: "Length of the idle window of the cost phase, seconds.")
    var idleSeconds = 120.0

    @Option(help: "Length of the cost phase's window with the host stuck mid-update, seconds.")
    var stallSeconds = 60.0

    @Option(help: "The packaged (static) vmclockd to measure for memory in the cost phase, e.g. from packaging/build-deb.")
    var packaged: String?

    @Option(help: "The allocation counter to preload into vmclockd (default: libvmclockd-allocation-count.so next to it, if built).")
    var allocationCounter: String?

    @Option(help: "Disruptions in the reaction phase.")
    var disruptions = 200

    @Option(help: "Disruptions (with a 1 ms step) in the outcome phase, per chronyd.")
    var outcomeDisruptions = 50

    @Option(help: "Disruptions (with a ±1 ms step) in the applications phase.")
    var applicationDisruptions = 50

    @Option(help: "Length of the applications phase's steady state, seconds.")
    var applicationSeconds = 30.0

    @Option(help: "Holds in the outcome phase, per chronyd.")
    var holds = 10

    @Option(help: "A Debian 13 root with chronyd 4.6 for the outcome phase (made by .ci/trixie-chrony); skipped if absent.")
    var trixieRoot = "/var/cache/vmclockd-tests/trixie-chrony"

    func validate() throws {
        guard idleSeconds >= 1, samples >= 2, disruptions >= 1 else { throw ValidationError("nothing to measure") }
        guard soakSeconds >= 120 else { throw ValidationError("--soak-seconds: at least 120 (the warm-up alone takes about a minute)") }
    }

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("run as root: chronyd must start as root") }
        handleInterruptions()
        let binDirectory = bin ?? Products.directory.path
        let vmclockd = "\(binDirectory)/vmclockd", simulator = "\(binDirectory)/vmclock-sim"
        for path in [vmclockd, simulator] where access(path, X_OK) != 0 {
            throw ValidationError("\(path) is missing: build it first (swift build -c release --scratch-path .build-release --product …)")
        }
        let folder = try work ?? Self.temporaryFolder()
        try makeDirectory(folder)
        // Run copies: a rebuild during the run must not change the code under test.
        try makeDirectory("\(folder)/bin")
        for binary in [vmclockd, simulator] {
            try copyExecutable(binary, to: "\(folder)/bin/\(binary.split(separator: "/").last!)")
        }
        let bench = Bench(
            vmclockd: "\(folder)/bin/vmclockd", simulator: "\(folder)/bin/vmclock-sim", work: folder, offsetNanoseconds: offsetNs)
        printError("work folder: \(folder)")
        bench.say("# vmclockd-daemon-bench")
        bench.say()
        for line in Machine.describe(binaries: [vmclockd, simulator], package: Self.packageDirectory(from: binDirectory)) {
            bench.say(line)
        }
        bench.say()
        defer {
            bench.say("load average at the end: \(Machine.loadAverage()); finished \(Machine.utcNow())")
            try? writeFile("\(folder)/report.txt", bench.report.joined(separator: "\n") + "\n")
            printError("report and raw data: \(folder)")
        }
        do {
            for phase in phases {
                switch phase {
                case .accuracy: try bench.accuracy(samples: samples, interval: interval)
                case .cost:
                    let counter = allocationCounter ?? "\(binDirectory)/libvmclockd-allocation-count.so"
                    try bench.cost(seconds: idleSeconds, stallSeconds: stallSeconds, packaged: packaged,
                                   allocationCounter: access(counter, R_OK) == 0 ? counter : nil)
                case .reaction: try bench.reaction(count: disruptions)
                case .applications: try bench.applications(count: applicationDisruptions, seconds: applicationSeconds)
                case .soak:
                    try bench.soak(seconds: soakSeconds, seed: seed ?? UInt64(realtimeNanoseconds()) % 1_000_000_007)
                case .outcome:
                    try bench.outcome(disruptions: outcomeDisruptions, holds: holds, flavor: .init(name: "chronyd 4.3 (Debian 12)", slug: "chrony-4.3", chrony: .debian12))
                    if access("\(trixieRoot)/usr/sbin/chronyd", X_OK) == 0 {
                        try bench.outcome(disruptions: outcomeDisruptions, holds: holds, flavor: .init(name: "chronyd 4.6 (Debian 13)", slug: "chrony-4.6", chrony: .debian13, root: trixieRoot))
                    }
                }
            }
        } catch {
            stopRemainingChildren()
            bench.say("FAILED: \(error)")
            throw ExitCode(1)
        }
        stopRemainingChildren()
    }

    static func temporaryFolder() throws -> String {
        var template = Array("/tmp/vmclockd-daemon-bench.XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw BenchError("mkdtemp: \(String(cString: strerror(errno)))") }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The package root: the nearest folder above `directory` with a Package.swift.
    static func packageDirectory(from directory: String) -> String? {
        var path = directory
        while let slash = path.lastIndex(of: "/"), !path.isEmpty {
            if fileExists("\(path)/Package.swift") { return path }
            path = String(path[..<slash])
        }
        return nil
    }
}

/// The machine and the code under test, for the report.
enum Machine {
    static func describe(binaries: [String], package: String?) -> [String] {
        var lines = ["started \(utcNow()); load average \(loadAverage())"]
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let cpuinfo = readFile("/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
            .trimmingPrefix(" ") ?? "?"
        let clocksource = readFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")?
            .split(separator: "\n").first ?? "?"
        lines.append("machine: \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) CPUs online, \(model), kernel \(release), clocksource \(clocksource), CLK_TCK \(Int(ProcSnapshot.ticksPerSecond))")
        for binary in binaries {
            var info = stat()
            stat(binary, &info)
            lines.append("binary: \(binary), \(info.st_size) bytes, modified \(utc(Int64(info.st_mtim.tv_sec))) (run from a copy)")
        }
        if let package {
            let out = "/tmp/vmclockd-daemon-bench-git.\(getpid())"
            defer { unlink(out) }
            for arguments in [["rev-parse", "HEAD"], ["status", "--short", "--untracked-files=no"]] {
                guard let git = try? Child(name: "git", arguments: ["/usr/bin/git", "-C", package] + arguments, stdout: .file(out), stderr: .null) else { continue }
                git.waitForExit(seconds: 10)
                let text = (readFile(out) ?? "").split(separator: "\n").joined(separator: "; ")
                lines.append("git \(arguments[0]): \(text.isEmpty ? "(clean)" : text)")
                unlink(out)
            }
        }
        return lines
    }

    static func loadAverage() -> String {
        (readFile("/proc/loadavg") ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func utcNow() -> String { utc(realtimeNanoseconds() / 1_000_000_000) }

    static func utc(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }
}
