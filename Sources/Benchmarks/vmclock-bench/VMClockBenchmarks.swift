// vmclock-bench: what one read of the vmclock page costs, and how wide the
// cross-timestamp window is, measured with ordo-one/package-benchmark.
//
//   swift package --scratch-path .build-release benchmark --target vmclock-bench --no-progress
//
// This target lives under a folder named `Benchmarks` because the benchmark
// plugin finds its targets that way. It is an executable target, not a test:
// `swift test` builds it but never runs it. See BENCHMARKS.md.
//
// Each benchmark runs in its own process (that is how the plugin works), all
// of them in one plugin invocation. So that the ratios to clock_gettime stay
// meaningful on a noisy machine, every per-operation sample is paired with a
// batch of SystemClock.realtime() calls of the same length timed just before
// it, in the same process, and the ratio is recorded per sample.

import Benchmark
import VMClockAccess
import VMClockPage
import VMClockSimulation

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Metrics

/// Custom metrics; all are recorded per sample, unscaled.
enum Metric {
    /// The operation's time per call as a percentage of one
    /// SystemClock.realtime() call timed in the same sample (100 = equal).
    static var ratio: BenchmarkMetric { .custom("÷ clock_gettime (%)", polarity: .prefersSmaller, useScalingFactor: false) }
    /// Per-call time from the benchmark's own timer, in picoseconds: the
    /// harness's wall-clock row rounds to whole ns, too coarse for ~20 ns calls.
    static var picoseconds: BenchmarkMetric { .custom("own timer (ps/op)", polarity: .prefersSmaller, useScalingFactor: false) }
    /// One call timed alone with SystemClock.monotonicNanoseconds(), in ns.
    static var singleCall: BenchmarkMetric { .custom("one call, own timer (ns)", polarity: .prefersSmaller, useScalingFactor: false) }
    /// CrossTimestamp bracket width, in ns at the page's period.
    static var window: BenchmarkMetric { .custom("window (ns)", polarity: .prefersSmaller, useScalingFactor: false) }
    /// getrusage(RUSAGE_SELF).ru_maxrss. Caution: Linux carries ru_maxrss
    /// across execve, and the plugin posix_spawn()s each benchmark from its
    /// own (growing) process, so this includes the parent's high-water mark.
    static var maxRSS: BenchmarkMetric { .custom("ru_maxrss (KiB)", polarity: .prefersSmaller, useScalingFactor: false) }
    /// VmHWM from /proc/self/status: this process image's own peak RSS.
    static var peakRSS: BenchmarkMetric { .custom("VmHWM (KiB)", polarity: .prefersSmaller, useScalingFactor: false) }
}

private var countUnits: [BenchmarkMetric: BenchmarkUnits] {
    [
        Metric.ratio: .count, Metric.picoseconds: .count, Metric.window: .count, Metric.maxRSS: .count,
        Metric.peakRSS: .count, Metric.singleCall: .count,
    ]
}

/// Batches of 1000 calls per sample; the harness reports ns per call (rows marked *).
private var perCall: Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .mallocCountTotal, Metric.picoseconds, Metric.ratio, Metric.maxRSS, Metric.peakRSS],
        timeUnits: .nanoseconds, units: countUnits, warmupIterations: 20,
        scalingFactor: .kilo, maxDuration: .seconds(3), maxIterations: 1_000_000)
}

/// One CrossTimestamp.measure() per sample: the window's own distribution.
private var perBracket: Benchmark.Configuration {
    .init(
        metrics: [.wallClock, Metric.window, Metric.ratio, Metric.maxRSS, Metric.peakRSS],
        timeUnits: .nanoseconds, units: countUnits, warmupIterations: 1_000,
        scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 200_000)
}

/// One call per sample, unscaled: the latency of a lone read (as a daemon
/// polling every 10 ms does it) and its exact allocation count. The
/// harness's wall-clock row carries its own per-sample overhead; the
/// "one call" row carries one clock_gettime(CLOCK_MONOTONIC) instead.
private var single: Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .mallocCountTotal, Metric.singleCall, Metric.maxRSS, Metric.peakRSS],
        timeUnits: .nanoseconds, units: countUnits, warmupIterations: 1_000,
        scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 200_000)
}

// MARK: - Fixture

/// Two page files written by an in-process PageWriter from a SimulatedHost
/// (clock mode, default settings but `size` 112, the ABI's structure size),
/// and a VMClockDevice on each: one a full 4096-byte page (mmap path), one
/// truncated to 112 bytes, which VMClockDevice reads with pread() because
/// the file is shorter than a page. The writer keeps its shared mapping of
/// the truncated file, so both pages stay live page-cache pages.
final class Fixture: @unchecked Sendable {
    let directory: String
    private let writers: [PageWriter]
    let mmapDevice: VMClockDevice
    let preadDevice: VMClockDevice
    /// The mmap page's clock data, for ticks → ns.
    let clock: ClockData

    init() {
        var template = Array("/tmp/vmclock-bench-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            fatalError("vmclock-bench: mkdtemp failed, errno \(errno)")
        }
        directory = String(cString: made)
        var settings = SimulationSettings()
        settings.size = UInt32(PageLayout.structureSize)
        var host = SimulatedHost(settings: settings)  // calibrates the counter for 50 ms
        let mmapPath = directory + "/page-mmap"
        let preadPath = directory + "/page-pread"
        do {
            let image = host.image()
            let mmapWriter = try PageWriter(path: mmapPath)
            mmapWriter.publish(image)
            let preadWriter = try PageWriter(path: preadPath)
            guard truncate(preadPath, off_t(PageLayout.structureSize)) == 0 else {
                fatalError("vmclock-bench: truncate \(preadPath) failed, errno \(errno)")
            }
            preadWriter.publish(image)
            writers = [mmapWriter, preadWriter]
            mmapDevice = try VMClockDevice(path: mmapPath)
            preadDevice = try VMClockDevice(path: preadPath)
            clock = try mmapDevice.snapshot().clockData(nativeCounter: Counter.native)
            let preadClock = try preadDevice.snapshot().clockData(nativeCounter: Counter.native)
            precondition(preadClock == clock, "vmclock-bench: the two pages (one image) decode differently")
        } catch {
            fatalError("vmclock-bench: fixture: \(error)")
        }
        precondition(mmapDevice.readMethod == .mmap, "vmclock-bench: expected the mmap path")
        precondition(preadDevice.readMethod == .pread, "vmclock-bench: expected the pread path")
        // The page must give UTC close to the system clock, or the timed path is not the real one.
        guard let comparison = clock.compare(with: CrossTimestamp.measure()),
            abs(comparison.offsetNanoseconds) < 10_000_000
        else { fatalError("vmclock-bench: the simulated page does not give UTC near CLOCK_REALTIME") }
    }

    func remove() {
        for writer in writers { writer.unlink() }
        rmdir(directory)
    }

    func nanoseconds(ofTicks ticks: UInt64) -> UInt64 {
        clock.ticksToNanoseconds(ticks, unitsPerTick: clock.counterPeriodFracSec)
    }
}

/// Built on first use, once per benchmark process.
let fixture = Fixture()

private func setUpFixture() async throws { _ = fixture }
private func tearDownFixture() async throws { fixture.remove() }

// MARK: - Timing helpers

/// Times `count` SystemClock.realtime() calls, in ns.
@inline(__always)
private func timeRealtime(_ count: Int) -> Int64 {
    let start = SystemClock.monotonicNanoseconds()
    for _ in 0..<count { blackHole(SystemClock.realtime()) }
    return SystemClock.monotonicNanoseconds() - start
}

/// Records ru_maxrss and VmHWM on every 64th sample (both only grow, so p100 is the peak).
@inline(__always)
private func recordMaxRSS(_ benchmark: Benchmark) {
    guard benchmark.currentIteration % 64 == 0 else { return }
    var usage = rusage()
    if getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 { benchmark.measurement(Metric.maxRSS, Int(usage.ru_maxrss)) }
    if let hwm = peakResidentKiB() { benchmark.measurement(Metric.peakRSS, hwm) }
}

/// VmHWM of /proc/self/status, in KiB.
private func peakResidentKiB() -> Int? {
    let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 8192)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return nil }
    let text = String(decoding: buffer[..<count], as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
    return Int(line.dropFirst("VmHWM:".count).filter(\.isNumber))
}

/// One sample of a per-call benchmark: a batch of realtime() calls as the
/// reference, then the batch of `body` calls the harness times. `body`
/// returns false on a failed read; any failure fails the benchmark.
@inline(__always)
private func pairedSample(_ benchmark: Benchmark, _ body: () -> Bool) {
    let count = benchmark.scaledIterations.count
    let reference = timeRealtime(count)
    var failures = 0
    benchmark.startMeasurement()
    let start = SystemClock.monotonicNanoseconds()
    for _ in benchmark.scaledIterations where !body() { failures += 1 }
    let elapsed = SystemClock.monotonicNanoseconds() - start
    benchmark.stopMeasurement()
    if failures > 0 { benchmark.error("\(failures) of \(count) reads failed") }
    benchmark.measurement(Metric.picoseconds, Int(elapsed * 1_000 / Int64(count)))
    benchmark.measurement(Metric.ratio, Int((elapsed * 100 + reference / 2) / max(reference, 1)))
    recordMaxRSS(benchmark)
}

/// One sample of a window benchmark: a reference batch, then one bracket.
@inline(__always)
private func windowSample(_ benchmark: Benchmark, attempts: Int) {
    let referenceCount = 100
    let reference = timeRealtime(referenceCount)
    benchmark.startMeasurement()
    let bracket = CrossTimestamp.measure(attempts: attempts)
    benchmark.stopMeasurement()
    let window = Int64(fixture.nanoseconds(ofTicks: bracket.windowTicks))
    benchmark.measurement(Metric.window, Int(window))
    // window / (reference / referenceCount), in percent
    benchmark.measurement(Metric.ratio, Int((window * 100 * Int64(referenceCount) + reference / 2) / max(reference, 1)))
    recordMaxRSS(benchmark)
}

/// The read of benchmarks 02, 03 and 10: snapshot, clock data, UTC at a fresh counter read.
@inline(__always)
private func readUTC(_ device: VMClockDevice) -> Bool {
    guard let page = try? device.snapshot(),
        let data = try? page.clockData(nativeCounter: Counter.native),
        let utc = data.utc(atCounter: Counter.read())
    else { return false }
    blackHole(utc)
    return true
}

// MARK: - Benchmarks
// Names are numbered because the plugin runs (and prints) them sorted by name.

let benchmarks: @Sendable () -> Void = {
    // The bare vDSO call, for scale: SystemClock.realtime() adds the
    // timespec → 2^-64 s conversion (a 128-by-64-bit division) to it.
    Benchmark("00 bare clock_gettime(CLOCK_REALTIME), timespec only", configuration: perCall) { benchmark in
        pairedSample(benchmark) {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            blackHole(ts)
            return true
        }
    }

    Benchmark("01 clock_gettime(CLOCK_REALTIME) [SystemClock.realtime]", configuration: perCall) { benchmark in
        pairedSample(benchmark) {
            blackHole(SystemClock.realtime())
            return true
        }
    }

    Benchmark(
        "02 read, mmap: snapshot + clockData + utc(Counter.read)", configuration: perCall,
        closure: { benchmark in pairedSample(benchmark) { readUTC(fixture.mmapDevice) } },
        setup: setUpFixture, teardown: tearDownFixture)

    Benchmark(
        "03 read, pread: snapshot + clockData + utc(Counter.read)", configuration: perCall,
        closure: { benchmark in pairedSample(benchmark) { readUTC(fixture.preadDevice) } },
        setup: setUpFixture, teardown: tearDownFixture)

    Benchmark(
        "04 cross-timestamp window, measure() (5 attempts)", configuration: perBracket,
        closure: { benchmark in windowSample(benchmark, attempts: CrossTimestamp.defaultAttempts) },
        setup: setUpFixture, teardown: tearDownFixture)

    Benchmark(
        "05 cross-timestamp window, measure(attempts: 1)", configuration: perBracket,
        closure: { benchmark in windowSample(benchmark, attempts: 1) },
        setup: setUpFixture, teardown: tearDownFixture)

    // The parts of benchmark 2, to see where its time goes.

    Benchmark(
        "06 part: mmap snapshot()", configuration: perCall,
        closure: { benchmark in
            pairedSample(benchmark) {
                guard let page = try? fixture.mmapDevice.snapshot() else { return false }
                blackHole(page)
                return true
            }
        },
        setup: setUpFixture, teardown: tearDownFixture)

    Benchmark(
        "07 part: page.clockData(nativeCounter:)", configuration: perCall,
        closure: { benchmark in
            let page = try! fixture.mmapDevice.snapshot()
            pairedSample(benchmark) {
                guard let data = try? identity(page).clockData(nativeCounter: Counter.native) else { return false }
                blackHole(data)
                return true
            }
        },
        setup: setUpFixture, teardown: tearDownFixture)

    Benchmark(
        "08 part: utc(atCounter: Counter.read())", configuration: perCall,
        closure: { benchmark in
            let data = fixture.clock
            pairedSample(benchmark) {
                guard let utc = identity(data).utc(atCounter: Counter.read()) else { return false }
                blackHole(utc)
                return true
            }
        },
        setup: setUpFixture, teardown: tearDownFixture)

    // What the daemon does per poll: a snapshot bracketed with the system
    // clock, the clock data, and the comparison.

    Benchmark(
        "09 poll, mmap: readWithSystemClock + clockData + compare", configuration: perCall,
        closure: { benchmark in
            pairedSample(benchmark) {
                guard let (page, bracket) = try? fixture.mmapDevice.readWithSystemClock(),
                    let data = try? page.clockData(nativeCounter: Counter.native),
                    let comparison = data.compare(with: bracket)
                else { return false }
                blackHole(comparison)
                return true
            }
        },
        setup: setUpFixture, teardown: tearDownFixture)

    // A lone read per sample, as in the daemon's 10 ms poll (warm caches
    // all the same: the samples follow each other closely).

    Benchmark(
        "10 single read, mmap: snapshot + clockData + utc, one per sample", configuration: single,
        closure: { benchmark in
            let device = fixture.mmapDevice
            benchmark.startMeasurement()
            let start = SystemClock.monotonicNanoseconds()
            let succeeded = readUTC(device)
            let elapsed = SystemClock.monotonicNanoseconds() - start
            benchmark.stopMeasurement()
            if !succeeded { benchmark.error("read failed") }
            benchmark.measurement(Metric.singleCall, Int(elapsed))
            recordMaxRSS(benchmark)
        },
        setup: setUpFixture, teardown: tearDownFixture)
}
