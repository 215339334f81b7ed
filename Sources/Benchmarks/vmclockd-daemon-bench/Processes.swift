#if canImport(Glibc)
import Glibc
#endif
import Synchronization

// Child processes: the release-built vmclockd and vmclock-sim, and a private
// chronyd. Each is started with posix_spawn, never through a shell:
//
// * an empty signal mask and default dispositions, so SIGTERM reaches it
//   (a child inherits the spawner's mask; ChronyProcess in the integration
//   tests explains how a blocked SIGTERM left chronyd unkillable);
// * its own process group, so a Ctrl-C in the terminal reaches the benchmark
//   only, which then stops every child itself, by pid, in order;
// * a small fixed environment (no LD_PRELOAD or NOTIFY_SOCKET from whoever
//   started the benchmark: the daemon must not run under anyone's interposer);
// * standard input, output and error as given, and no other descriptor.

/// Set by SIGINT/SIGTERM; every wait loop checks it and unwinds, stopping
/// the children on the way out.
let interruption = Atomic<Bool>(false)

struct Interrupted: Error, CustomStringConvertible {
    var description: String { "interrupted" }
}

func checkInterruption() throws {
    if interruption.load(ordering: .relaxed) { throw Interrupted() }
}

func installInterruptionHandlers() {
    for signal in [SIGINT, SIGTERM] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruption.store(true, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        sigaction(signal, &action, nil)
    }
}

/// Every child still running, so that an error anywhere stops them all.
let liveChildren = Mutex<[pid_t: String]>([:])

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Where a child's standard stream comes from or goes to.
enum Stream {
    case null
    case file(String)
    case descriptor(Int32)
}

/// One child process, reaped with wait4 so its whole-life rusage is kept.
final class Child {
    let name: String
    let pid: pid_t
    private(set) var waitStatus: Int32?
    private(set) var usage = rusage()

    init(name: String, arguments: [String], stdin: Stream = .null, stdout: Stream, stderr: Stream) throws {
        self.name = name
        pid = try Self.spawn(arguments, streams: [stdin, stdout, stderr])
        liveChildren.withLock { $0[pid] = name }
    }

    /// True once the child has exited (and is reaped).
    var hasExited: Bool {
        if waitStatus != nil { return true }
        var status: Int32 = 0
        let result = wait4(pid, &status, WNOHANG, &usage)
        guard result == pid else { return false }
        waitStatus = status
        liveChildren.withLock { _ = $0.removeValue(forKey: pid) }
        return true
    }

    /// Waits up to `seconds` for the child to exit.
    @discardableResult
    func waitForExit(seconds: Double) -> Bool {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        while !hasExited {
            if monotonicNanoseconds() > deadline { return false }
            usleep(1_000)
        }
        return true
    }

    /// `signal`, then SIGKILL if it has not exited within `grace` seconds.
    /// Returns the seconds from the signal to the exit being seen.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, grace: Double = 5) -> Double {
        guard !hasExited else { return 0 }
        let sent = monotonicNanoseconds()
        kill(pid, signal)
        if !waitForExit(seconds: grace) {
            kill(pid, SIGKILL)
            waitForExit(seconds: 10)
        }
        return Double(monotonicNanoseconds() - sent) * 1e-9
    }

    /// "exit 0", "signal 9", or "running".
    var exitDescription: String {
        guard let status = waitStatus else { return "running" }
        if status & 0x7f == 0 { return "exit \((status >> 8) & 0xff)" }
        return "signal \(status & 0x7f)"
    }

    var exitedCleanly: Bool { waitStatus.map { $0 & 0x7f == 0 && ($0 >> 8) & 0xff == 0 } ?? false }

    static let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]

    private static func spawn(_ arguments: [String], streams: [Stream]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, stream) in streams.enumerated() {
            let fd = Int32(target)
            switch stream {
            case .null:
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            case .descriptor(let source):
                posix_spawn_file_actions_adddup2(&actions, source, fd)
            }
        }
        // Our own descriptors are all close-on-exec; this also closes any we
        // inherited. A close of a descriptor already gone fails with EBADF,
        // which posix_spawn ignores.
        var open: [Int32] = []
        if let dir = opendir("/proc/self/fd") {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if let fd = Int32(name), fd > 2 { open.append(fd) }
            }
            closedir(dir)
        }
        for fd in open { posix_spawn_file_actions_addclose(&actions, fd) }

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw BenchError("posix_spawn \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }
}

/// SIGKILL to every child still running (after an error or an interruption).
func killRemainingChildren() {
    let remaining = liveChildren.withLock { $0 }
    for (pid, name) in remaining {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        let deadline = monotonicNanoseconds() + 5_000_000_000
        while waitpid(pid, &status, WNOHANG) == 0 {
            if monotonicNanoseconds() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(5_000)
        }
        printError("stopped \(name) (pid \(pid)) on the way out")
    }
    liveChildren.withLock { $0 = [:] }
}

/// A close-on-exec pipe: (read end, write end).
func makePipe() throws -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw BenchError("pipe: \(String(cString: strerror(errno)))") }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return (fds[0], fds[1])
}

// MARK: - clocks and small helpers

func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func realtimeNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
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

func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count <= 0 { break }
        data += chunk[..<count]
    }
    return String(decoding: data, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw BenchError("cannot write \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw BenchError("write \(path): \(String(cString: strerror(errno)))") }
        written += n
    }
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

func makeDirectory(_ path: String, mode: mode_t = 0o755) throws {
    guard mkdir(path, mode) == 0 || errno == EEXIST else {
        throw BenchError("mkdir \(path): \(String(cString: strerror(errno)))")
    }
    chmod(path, mode)
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
