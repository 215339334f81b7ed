import PeerHarness
#if canImport(Glibc)
import Glibc
#endif

/// What /proc says about a running process at one moment.
struct ProcSnapshot {
    /// CLOCK_MONOTONIC when taken, ns.
    var taken: Int64
    /// utime + stime from /proc/PID/stat: every thread of the process, alive
    /// or exited, in clock ticks (1/CLK_TCK s).
    var cpuTicks: Int64
    var threads: Int
    /// Sum over /proc/PID/task/*/schedstat (ns on the CPU): precise, but
    /// only threads still alive count.
    var liveThreadsRuntimeNanoseconds: Int64
    /// Sums over /proc/PID/task/*/status, live threads only.
    var voluntarySwitches: Int64
    var involuntarySwitches: Int64
    /// From /proc/PID/status, KiB.
    var vmHWM: Int64
    var vmRSS: Int64
    var rssAnon: Int64
    var rssFile: Int64

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func take(_ pid: pid_t) throws -> ProcSnapshot {
        let now = monotonicNanoseconds()
        guard let stat = readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else {
            throw BenchError("cannot read /proc/\(pid)/stat")
        }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): utime is field 14, stime 15, num_threads 20.
        guard fields.count > 17, let utime = Int64(fields[11]), let stime = Int64(fields[12]), let threads = Int(fields[17]) else {
            throw BenchError("cannot parse /proc/\(pid)/stat")
        }
        let status = Self.keyed(readFile("/proc/\(pid)/status") ?? "")
        var snapshot = ProcSnapshot(
            taken: now, cpuTicks: utime + stime, threads: threads, liveThreadsRuntimeNanoseconds: 0,
            voluntarySwitches: 0, involuntarySwitches: 0, vmHWM: status["VmHWM"] ?? -1, vmRSS: status["VmRSS"] ?? -1,
            rssAnon: status["RssAnon"] ?? -1, rssFile: status["RssFile"] ?? -1)
        for task in Self.tasks(pid) {
            if let sched = readFile("/proc/\(pid)/task/\(task)/schedstat"), let first = sched.split(separator: " ").first,
                let ns = Int64(first)
            {
                snapshot.liveThreadsRuntimeNanoseconds += ns
            }
            let taskStatus = Self.keyed(readFile("/proc/\(pid)/task/\(task)/status") ?? "")
            snapshot.voluntarySwitches += taskStatus["voluntary_ctxt_switches"] ?? 0
            snapshot.involuntarySwitches += taskStatus["nonvoluntary_ctxt_switches"] ?? 0
        }
        return snapshot
    }

    /// "Key:   123 kB" lines → [Key: 123].
    private static func keyed(_ text: String) -> [String: Int64] {
        var result: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int64($0) }
            if let value { result[String(line[..<colon])] = value }
        }
        return result
    }

    private static func tasks(_ pid: pid_t) -> [String] {
        guard let dir = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if Int(name) != nil { names.append(name) }
        }
        return names
    }
}

/// CPU and wake-ups between two snapshots of one process.
struct CPUUse {
    var wallSeconds: Double
    var cpuSeconds: Double
    var ticks: Int64
    var liveThreadsRuntimeSeconds: Double
    var switches: Int64
    var voluntarySwitches: Int64

    init(from a: ProcSnapshot, to b: ProcSnapshot) {
        wallSeconds = Double(b.taken - a.taken) * 1e-9
        ticks = b.cpuTicks - a.cpuTicks
        cpuSeconds = Double(ticks) / ProcSnapshot.ticksPerSecond
        liveThreadsRuntimeSeconds = Double(b.liveThreadsRuntimeNanoseconds - a.liveThreadsRuntimeNanoseconds) * 1e-9
        switches = (b.voluntarySwitches + b.involuntarySwitches) - (a.voluntarySwitches + a.involuntarySwitches)
        voluntarySwitches = b.voluntarySwitches - a.voluntarySwitches
    }

    /// % of one core, from the tick counts.
    var percentOfCore: Double { cpuSeconds / wallSeconds * 100 }
    /// % of one core, from schedstat (live threads only).
    var percentOfCoreSchedstat: Double { liveThreadsRuntimeSeconds / wallSeconds * 100 }
    var switchesPerSecond: Double { Double(switches) / wallSeconds }
    /// Voluntary: the daemon went to sleep (about one per look).
    var voluntaryPerSecond: Double { Double(voluntarySwitches) / wallSeconds }
    var switchesText: String {
        "\(fixed(switchesPerSecond, 1)) /s (voluntary \(fixed(voluntaryPerSecond, 1)), involuntary \(fixed(switchesPerSecond - voluntaryPerSecond, 1)))"
    }
    /// ±1 tick at each end, as % of one core.
    var tickResolutionPercent: Double { 1 / ProcSnapshot.ticksPerSecond / wallSeconds * 100 }
}

/// Order statistics of one set of numbers. Percentiles are nearest-rank:
/// p99 of n values is the ⌈0.99·n⌉-th smallest.
struct Summary {
    var count: Int
    var mean: Double
    var standardDeviation: Double
    var minimum: Double
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var maximum: Double

    init(_ values: [Double]) {
        let sorted = values.sorted()
        count = sorted.count
        guard count > 0 else {
            (mean, standardDeviation, minimum, p50, p90, p99, p999, maximum) = (.nan, .nan, .nan, .nan, .nan, .nan, .nan, .nan)
            return
        }
        mean = sorted.reduce(0, +) / Double(count)
        let m = mean
        standardDeviation = count > 1 ? (sorted.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(count - 1)).squareRoot() : 0
        let n = sorted.count
        func rank(_ p: Double) -> Double { sorted[max(0, min(n - 1, Int((p * Double(n)).rounded(.up)) - 1))] }
        minimum = sorted[0]
        p50 = rank(0.5)
        p90 = rank(0.9)
        p99 = rank(0.99)
        p999 = rank(0.999)
        maximum = sorted[count - 1]
    }
}

/// Fixed-point text without Foundation: `fixed(3.14159, 2)` = "3.14".
func fixed(_ value: Double, _ decimals: Int = 1) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale: Int64 = 1
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int64((abs(value) * Double(scale)).rounded())
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard decimals > 0 else { return sign + String(scaled) }
    let digits = String(scaled % scale)
    return sign + String(scaled / scale) + "." + String(repeating: "0", count: max(0, decimals - digits.count)) + digits
}
