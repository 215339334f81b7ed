import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A running `vmclockd run`, started the way an operator would start it:
/// `vmclockd run --device … --refclock-socket … --control-socket … OPTIONS`,
/// its standard error (the µs-stamped log, `PlainTextLogHandler`) going to a
/// file the test reads while it runs. Stopped by its own pid, never by name.
///
/// Spawned with posix_spawn and an empty signal mask, for the reason
/// `ChronyProcess.start` gives: a child of the test process inherits its
/// blocked-signal mask, and vmclockd's own SignalWatcher relies on collecting
/// SIGTERM/SIGHUP itself, so it must not start with them blocked by someone
/// else. Only fds 0–2 are passed on (stdin /dev/null, stdout and stderr the
/// log file), so it cannot hold another test's pipe open.
final class DaemonProcess {
    let logPath: String
    let arguments: [String]
    private(set) var childPID: pid_t?
    /// The exit, once reaped.
    private(set) var ended: Exit?

    /// How the process ended.
    enum Exit: Equatable, CustomStringConvertible {
        case status(Int32)
        case signal(Int32)

        var description: String {
            switch self {
            case .status(let code): "exit status \(code)"
            case .signal(let signal): "killed by signal \(signal)"
            }
        }
    }

    struct StartFailure: Error, CustomStringConvertible {
        var reason: String
        var description: String { "vmclockd did not start: \(reason)" }
    }

    /// `vmclockd run --device DEVICE --refclock-socket REFCLOCK --control-socket CONTROL OPTIONS…`,
    /// its log in `logPath` (appended to).
    init(device: String, refclockSocket: String, controlSocket: String, options: [String] = [], logPath: String) throws {
        self.logPath = logPath
        var arguments =
            [Products.vmclockd.path, "run", "--device", device, "--refclock-socket", refclockSocket,
             "--control-socket", controlSocket] + options
        // Never the machine's /run/vmclockd: the identity is kept beside the log.
        if !options.contains("--state-file") {
            arguments += ["--state-file", logPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/") + "/page-identity"]
        }
        self.arguments = arguments
        childPID = try Self.spawn(self.arguments, output: logPath)
    }

    /// Starts another daemon with exactly these arguments (a restart).
    init(arguments: [String], logPath: String) throws {
        self.logPath = logPath
        self.arguments = arguments
        childPID = try Self.spawn(arguments, output: logPath)
    }

    var pid: pid_t? { isRunning ? childPID : nil }

    /// True until the process has exited (it is reaped on the way).
    var isRunning: Bool { !reap() }

    // MARK: - the log

    /// The complete lines of the log so far (a line still being written is
    /// left out until its newline arrives).
    func logLines() -> [String] {
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        var text = String(decoding: data, as: UTF8.self)
        if let lastNewline = text.lastIndex(of: "\n") {
            text = String(text[...lastNewline])
        } else {
            return []
        }
        return text.split(separator: "\n").map(String.init)
    }

    /// The whole log, for failure messages.
    var log: String { logLines().joined(separator: "\n") }

    /// Lines containing `text`.
    func lines(containing text: String) -> [String] { logLines().filter { $0.contains(text) } }

    /// Polls the log (every 5 ms) until a line containing `text` is there;
    /// returns it, or nil after `within` seconds.
    @discardableResult
    func waitForLog(containing text: String, within seconds: Double) -> String? {
        waitForLog(within: seconds) { $0.contains(text) }
    }

    /// Polls the log until a line satisfies `match`, at most `within` seconds.
    /// With `occurrence` n, waits for the n-th such line (1-based).
    @discardableResult
    func waitForLog(occurrence: Int = 1, within seconds: Double, where match: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let found = logLines().filter(match)
            if found.count >= occurrence { return found[occurrence - 1] }
            if Date() > deadline { return nil }
            usleep(5_000)
        }
    }

    /// The n-th (1-based) line containing `text`, waiting for it.
    @discardableResult
    func waitForLog(containing text: String, occurrence: Int, within seconds: Double) -> String? {
        waitForLog(occurrence: occurrence, within: seconds) { $0.contains(text) }
    }

    /// The line's timestamp (`2026-11-25T09:11:25.024188Z …`, CLOCK_REALTIME
    /// when the daemon logged it) as nanoseconds since the epoch.
    static func timestamp(of line: String) -> Int64? {
        guard let stamp = line.split(separator: " ", maxSplits: 1).first, stamp.hasSuffix("Z"), stamp.count == 27 else {
            return nil
        }
        let characters = Array(stamp)
        func number(_ range: Range<Int>) -> Int32? { Int32(String(characters[range])) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            let micros = Int64(String(characters[20..<26]))
        else { return nil }
        var civil = tm()
        civil.tm_year = year - 1900
        civil.tm_mon = month - 1
        civil.tm_mday = day
        civil.tm_hour = hour
        civil.tm_min = minute
        civil.tm_sec = second
        let seconds = Int64(timegm(&civil))
        return seconds * 1_000_000_000 + micros * 1000
    }

    // MARK: - signals and stopping

    /// Sends `signal` to our own vmclockd.
    func send(signal: Int32) {
        guard let pid = pid else { return }
        kill(pid, signal)
    }

    struct Stopped {
        /// nil if it had already exited before the signal.
        var exit: Exit?
        /// From the signal to the reaped exit.
        var seconds: Double
        /// It did not exit within the grace time and was SIGKILLed.
        var killed: Bool
    }

    /// SIGTERM to our own pid; waits (polling every 0.5 ms, so the measured
    /// time is good to about that) up to `grace` seconds, then SIGKILL.
    @discardableResult
    func stop(grace: Double = 5) -> Stopped {
        guard let pid = childPID, isRunning else { return Stopped(exit: ended, seconds: 0, killed: false) }
        let started = monotonicSeconds()
        kill(pid, SIGTERM)
        while isRunning && monotonicSeconds() - started < grace { usleep(500) }
        let seconds = monotonicSeconds() - started
        var killed = false
        if isRunning {
            killed = true
            kill(pid, SIGKILL)
            while isRunning { usleep(1_000) }
        }
        return Stopped(exit: ended, seconds: seconds, killed: killed)
    }

    deinit { stop() }

    /// Reaps our child without blocking; true once it has exited (or there is none).
    private func reap() -> Bool {
        guard let pid = childPID else { return true }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            // <sys/wait.h> macros, which Swift does not import.
            let signal = status & 0x7f
            ended = signal == 0 ? .status((status >> 8) & 0xff) : .signal(signal)
            childPID = nil
            return true
        }
        if result < 0 && errno == ECHILD {
            childPID = nil
            return true
        }
        return false
    }

    private func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }

    private static func spawn(_ arguments: [String], output: String) throws -> pid_t {
        do {
            return try spawnPeer(arguments, output: output)
        } catch {
            throw StartFailure(reason: "\(error)")
        }
    }
}
