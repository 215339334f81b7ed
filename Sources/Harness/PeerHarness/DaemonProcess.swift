#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A running `vmclockd run`, started the way an operator would start it:
/// `vmclockd run --device … --refclock-socket … --control-socket … OPTIONS`,
/// its standard output and error (the µs-stamped log, `PlainTextLogHandler`)
/// appended to a file that is read while it runs. Stopped by its own pid,
/// never by name; spawned as every `Child` is (vmclockd's SignalWatcher
/// relies on collecting SIGTERM and SIGHUP itself).
public final class DaemonProcess {
    public let logPath: String
    public let arguments: [String]
    private let child: Child
    private let tail: LogTail
    private var lines: [String] = []

    /// `vmclockd run --device DEVICE --refclock-socket REFCLOCK --control-socket CONTROL OPTIONS…`,
    /// its log in `logPath` (appended to); `prefix` goes before it (`env` with a preload).
    public convenience init(
        device: String, refclockSocket: String, controlSocket: String, options: [String] = [], logPath: String,
        prefix: [String] = []
    ) throws {
        var arguments = prefix +
            [Products.vmclockd.path, "run", "--device", device, "--refclock-socket", refclockSocket,
             "--control-socket", controlSocket] + options
        if !options.contains("--state-file") { arguments += ["--state-file", Self.beside(logPath, "page-identity")] }
        try self.init(arguments: arguments, logPath: logPath)
    }

    /// Starts a daemon with these arguments (also: a restart). Never the
    /// machine's /run/vmclockd: what `run` publishes goes beside the log
    /// unless the arguments say where.
    public init(arguments: [String], logPath: String) throws {
        self.logPath = logPath
        var arguments = arguments
        // Counts refreshed every second: the tests read them, and the
        // default refresh (10 s) would only make them wait.
        // Nor the machine's /run/clockbound, which applications read.
        let published = [("--status-file", Self.beside(logPath, "status.json")),
                         ("--metrics-file", Self.beside(logPath, "vmclockd.prom")), ("--publish-interval", "1"),
                         ("--clockbound-segment", Self.beside(logPath, "clockbound/shm0"))]
        for (option, value) in published where arguments.contains("run") && !arguments.contains(option) {
            arguments += [option, value]
        }
        // Nor the machine's /etc/vmclockd.conf.
        if let run = arguments.firstIndex(of: "run"), !arguments.contains("--config") {
            arguments.insert(contentsOf: ["--config", "none"], at: run + 1)
        }
        self.arguments = arguments
        tail = LogTail(path: logPath)
        child = try Child(name: "vmclockd", arguments: arguments, stdout: .file(logPath), stderr: .file(logPath))
    }

    /// `name` in the directory of `path`.
    public static func beside(_ path: String, _ name: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/") + "/" + name
    }

    /// The status file `run` publishes (`vmclockd status --status-file`).
    public var statusFilePath: String { value(of: "--status-file") ?? Self.beside(logPath, "status.json") }
    public var metricsFilePath: String { value(of: "--metrics-file") ?? Self.beside(logPath, "vmclockd.prom") }
    /// ClockBound's segment the daemon writes (nil: `none`).
    public var segmentPath: String? {
        let path = value(of: "--clockbound-segment") ?? Self.beside(logPath, "clockbound/shm0")
        return path == "none" ? nil : path
    }

    private func value(of option: String) -> String? {
        arguments.firstIndex(of: option).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
    }

    public var pid: pid_t? { isRunning ? child.pid : nil }

    /// True until the process has exited (it is reaped on the way).
    public var isRunning: Bool { !child.hasExited }

    // MARK: - the log

    /// The complete lines of the log so far (a line still being written is
    /// left out until its newline arrives).
    public func logLines() -> [String] {
        lines += tail.newLines()
        return lines
    }

    /// The whole log, for failure messages.
    public var log: String { logLines().joined(separator: "\n") }

    /// Lines containing `text`.
    public func lines(containing text: String) -> [String] { logLines().filter { $0.contains(text) } }

    /// Polls the log (every 5 ms) until a line containing `text` is there;
    /// returns it, or nil after `within` seconds.
    @discardableResult
    public func waitForLog(containing text: String, within seconds: Double) -> String? {
        waitForLog(within: seconds) { $0.contains(text) }
    }

    /// Polls the log until a line satisfies `match`, at most `within` seconds
    /// (`deadlineScale` times that under emulation). With `occurrence` n,
    /// waits for the n-th such line (1-based).
    @discardableResult
    public func waitForLog(occurrence: Int = 1, within seconds: Double, where match: (String) -> Bool) -> String? {
        let deadline = monotonicNanoseconds() + Int64(seconds * deadlineScale * 1e9)
        while true {
            let found = logLines().filter(match)
            if found.count >= occurrence { return found[occurrence - 1] }
            if monotonicNanoseconds() > deadline { return nil }
            usleep(5_000)
        }
    }

    /// The n-th (1-based) line containing `text`, waiting for it.
    @discardableResult
    public func waitForLog(containing text: String, occurrence: Int, within seconds: Double) -> String? {
        waitForLog(occurrence: occurrence, within: seconds) { $0.contains(text) }
    }

    // MARK: - signals and stopping

    /// Sends `signal` to our own vmclockd.
    public func send(signal: Int32) {
        guard let pid else { return }
        kill(pid, signal)
    }

    /// SIGTERM to our own pid; waits (polling every 0.5 ms, so the measured
    /// time is good to about that) up to `grace` seconds, then SIGKILL.
    @discardableResult
    public func stop(grace: Double = 5) -> Child.Stopped { child.stop(grace: grace, poll: 0.000_5) }

    deinit { stop() }
}

/// Runs `vmclockd ARGS` (the package's own build) to completion and returns
/// its status and output.
public func runVMClockd(_ arguments: [String], timeout: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
    try runProgram([Products.vmclockd.path] + arguments, timeout: timeout)
}
