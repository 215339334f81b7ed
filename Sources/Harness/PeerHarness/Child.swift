#if canImport(Glibc)
import Glibc
#endif
import Synchronization

// Child processes (vmclockd, vmclock-sim, chronyd, chronyc), started with
// posix_spawn, never through a shell and never with Foundation's Process:
//
// * an empty signal mask and default dispositions, so SIGTERM reaches it. A
//   child inherits its spawner's mask, and a test process blocks SIGTERM
//   (seen: SigBlk fffffffe3bfbea27 in /proc/PID/status), which Foundation's
//   Process passes on: chronyd never saw our SIGTERM, was SIGKILLed after
//   5 s and left its command socket behind; and vmclockd's SignalWatcher
//   must collect SIGTERM and SIGHUP itself;
// * a small fixed environment (no LD_PRELOAD or NOTIFY_SOCKET from whoever
//   started us: the daemon must not run under anyone's interposer), but for
//   qemu-user's QEMU_LD_PREFIX: under packaging/arm64/test the arm64
//   children find their C library through it;
// * standard input, output and error as given, and no other descriptor, so
//   it cannot hold another test's pipe open;
// * its own process group once the program handles interruptions itself
//   (`handleInterruptions()`): a Ctrl-C then reaches that program only, which
//   stops every child by pid, in order. Otherwise a child shares its caller's
//   group, so a Ctrl-C that ends a test run ends its peers too.

/// One child process, stopped only by its own pid and reaped with wait4, so
/// its whole-life rusage is kept.
public final class Child {
    /// Where a child's standard stream comes from or goes to.
    public enum Stream {
        case null
        /// Ours (only for 0–2).
        case inherited
        /// Appended to (created if missing).
        case file(String)
        case descriptor(Int32)
    }

    public enum Exit: Equatable, CustomStringConvertible {
        case status(Int32)
        case signal(Int32)

        public var description: String {
            switch self {
            case .status(let code): "exit \(code)"
            case .signal(let signal): "signal \(signal)"
            }
        }
    }

    public struct Stopped {
        /// nil if someone else reaped it.
        public var exit: Exit?
        /// From the signal to the exit being seen; 0 if it had already exited.
        public var seconds: Double
        /// It outlived the grace time and was SIGKILLed.
        public var killed: Bool
    }

    public let name: String
    public let pid: pid_t
    /// How it ended, once reaped.
    public private(set) var exit: Exit?
    /// Its whole life's resource use, once reaped.
    public private(set) var usage = rusage()
    private var reaped = false

    public init(name: String, arguments: [String], stdin: Stream = .null, stdout: Stream, stderr: Stream) throws(SpawnFailure) {
        self.name = name
        pid = try Self.spawn(arguments, streams: [stdin, stdout, stderr])
        running.withLock { $0[pid] = name }
    }

    /// True once the child has exited and is reaped (by us, or, ECHILD, by
    /// whoever stopped it on the way out: `stopRemaining()`).
    public var hasExited: Bool {
        if reaped { return true }
        var status: Int32 = 0
        let result = wait4(pid, &status, WNOHANG, &usage)
        guard result == pid || (result < 0 && errno == ECHILD) else { return false }
        if result == pid {
            // <sys/wait.h> macros, which Swift does not import.
            exit = status & 0x7f == 0 ? .status((status >> 8) & 0xff) : .signal(status & 0x7f)
        }
        reaped = true
        running.withLock { _ = $0.removeValue(forKey: pid) }
        return true
    }

    /// Waits up to `seconds`, looking every `poll` seconds, for the child to exit.
    @discardableResult
    public func waitForExit(seconds: Double, poll: Double = 0.001) -> Bool {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        while !hasExited {
            if monotonicNanoseconds() > deadline { return false }
            usleep(useconds_t(poll * 1e6))
        }
        return true
    }

    /// `signal` to our own pid, then SIGKILL if it has not exited within
    /// `grace` seconds. `poll` is the resolution of the measured time.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: Double = 5, poll: Double = 0.001) -> Stopped {
        guard !hasExited else { return Stopped(exit: exit, seconds: 0, killed: false) }
        let sent = monotonicNanoseconds()
        kill(pid, signal)
        let killed = !waitForExit(seconds: grace, poll: poll)
        if killed {
            kill(pid, SIGKILL)
            waitForExit(seconds: 10)
        }
        return Stopped(exit: exit, seconds: Double(monotonicNanoseconds() - sent) * 1e-9, killed: killed)
    }

    /// "exit 0", "signal 9", or "running".
    public var exitDescription: String { exit?.description ?? (reaped ? "reaped elsewhere" : "running") }

    public var exitedCleanly: Bool { exit == .status(0) }

    /// SIGTERM to every child still running, SIGKILL after 5 s, for a program
    /// unwinding after an error or an interruption; returns whom it stopped.
    public static func stopRemaining() -> [(pid: pid_t, name: String)] {
        let remaining = running.withLock { children in
            defer { children = [:] }
            return children
        }
        for pid in remaining.keys {
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
        }
        return remaining.map { ($0.key, $0.value) }
    }

    static let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
        + (getenv("QEMU_LD_PREFIX").map { ["QEMU_LD_PREFIX=" + String(cString: $0)] } ?? [])

    private static func spawn(_ arguments: [String], streams: [Stream]) throws(SpawnFailure) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if handlingInterruptions.load(ordering: .relaxed) {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, stream) in streams.enumerated() {
            let fd = Int32(target)
            switch stream {
            case .null:
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .inherited:
                break
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            case .descriptor(let source):
                posix_spawn_file_actions_adddup2(&actions, source, fd)
            }
        }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        // Every other descriptor open here is closed in the child: listed from
        // /proc/self/fd (glibc's addclosefrom_np is not visible to Swift). One
        // closed meanwhile fails with EBADF, which posix_spawn ignores. Under
        // the lock, so that no descriptor of ours is opened between listing
        // and spawning without close-on-exec (`makePipe`, `captureFile`).
        let result = descriptorLock.withLock { _ in
            for fd in openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
            return posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        }
        guard result == 0 else { throw SpawnFailure(program: arguments[0], errorNumber: result) }
        return pid
    }

    private static func openDescriptors() -> [Int32] {
        guard let dir = opendir("/proc/self/fd") else { return [] }
        defer { closedir(dir) }
        var open: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name) { open.append(fd) }
        }
        return open
    }
}

public struct SpawnFailure: Error, CustomStringConvertible {
    public var program: String
    public var errorNumber: Int32
    public var description: String { "posix_spawn \(program): \(String(cString: strerror(errorNumber)))" }
}

/// Every child still running, so that an error anywhere can stop them all.
private let running = Mutex<[pid_t: String]>([:])

/// Held while spawning, and while making a descriptor that is not yet
/// close-on-exec (pipe2 and mkostemp are not visible to Swift).
private let descriptorLock = Mutex<Void>(())

/// A close-on-exec pipe: (read end, write end).
func makePipe() throws -> (Int32, Int32) {
    try descriptorLock.withLock { _ in
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HarnessError("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
}

/// An unlinked, close-on-exec temporary file, for a child's output.
private func captureFile() throws -> Int32 {
    try descriptorLock.withLock { _ in
        var template = Array("/tmp/peer-harness.XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw HarnessError("mkstemp: \(String(cString: strerror(errno)))") }
        unlink(template)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }
}

/// Runs `arguments` to completion, its output captured (in files, so any
/// amount is fine), SIGKILLed by its pid after `timeout` seconds. `status`
/// is the exit status, or 128 + the signal that ended it.
public func runProgram(_ arguments: [String], timeout: Double = 10) throws -> (status: Int32, stdout: String, stderr: String) {
    let out = try captureFile()
    defer { close(out) }
    let err = try captureFile()
    defer { close(err) }
    let child = try Child(name: arguments[0], arguments: arguments, stdout: .descriptor(out), stderr: .descriptor(err))
    let timedOut = !child.waitForExit(seconds: timeout)
    if timedOut { child.stop(signal: SIGKILL) }
    let status: Int32 =
        switch child.exit {
        case .status(let code): code
        case .signal(let signal): 128 + signal
        case nil: -1
        }
    let stderr = String(decoding: readAll(err), as: UTF8.self) + (timedOut ? "\n(killed after \(timeout) s)" : "")
    return (status, String(decoding: readAll(out), as: UTF8.self), stderr)
}

// MARK: - interruptions

/// Set by `handleInterruptions()`'s handler.
private let interruption = Atomic<Bool>(false)
private let handlingInterruptions = Atomic<Bool>(false)

public struct Interrupted: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "interrupted" }
}

/// Throws once SIGINT or SIGTERM has arrived (after `handleInterruptions()`);
/// every wait in the harness checks it, so the program unwinds, stopping its
/// children on the way out.
public func checkInterruption() throws {
    if interruption.load(ordering: .relaxed) { throw Interrupted() }
}

/// SIGINT and SIGTERM no longer end this process but make every wait throw
/// `Interrupted`; children started from now on get their own process group.
public func handleInterruptions() {
    handlingInterruptions.store(true, ordering: .relaxed)
    for signal in [SIGINT, SIGTERM] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruption.store(true, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        sigaction(signal, &action, nil)
    }
}
