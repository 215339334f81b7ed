import PeerHarness
#if canImport(Glibc)
import Glibc
#endif

// The benchmark's children (the release-built vmclockd and vmclock-sim, a
// private chronyd) are PeerHarness's: spawned with posix_spawn in their own
// process group (the benchmark handles SIGINT and SIGTERM itself:
// `handleInterruptions()`), stopped by pid, in order.

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Every child still running, after an error or an interruption.
func stopRemainingChildren() {
    for (pid, name) in Child.stopRemaining() { printError("stopped \(name) (pid \(pid)) on the way out") }
}

/// Sleeps `seconds`, in slices, so an interruption is seen within 50 ms.
func pause(_ seconds: Double) throws {
    let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
    while true {
        try checkInterruption()
        let remaining = deadline - monotonicNanoseconds()
        if remaining <= 0 { return }
        var request = timespec(tv_sec: 0, tv_nsec: Int(min(remaining, 50_000_000)))
        nanosleep(&request, nil)
    }
}

func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = write(2, &bytes, bytes.count)
}

func copyExecutable(_ source: String, to destination: String) throws {
    let input = open(source, O_RDONLY | O_CLOEXEC)
    guard input >= 0 else { throw BenchError("cannot read \(source)") }
    defer { close(input) }
    unlink(destination)
    let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
    guard output >= 0 else { throw BenchError("cannot create \(destination)") }
    defer { close(output) }
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let count = read(input, &chunk, chunk.count)
        guard count >= 0 else { throw BenchError("read \(source): \(String(cString: strerror(errno)))") }
        if count == 0 { return }
        guard write(output, chunk, count) == count else { throw BenchError("write \(destination) failed") }
    }
}

/// This process's own VmHWM, KiB (the spawner's peak that ru_maxrss of a
/// child can inherit).
func ownPeakRSS() -> Int64 {
    let status = readFile("/proc/self/status") ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
    return line?.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int64($0) } ?? -1
}
