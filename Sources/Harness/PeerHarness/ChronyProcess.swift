#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A private chronyd as a peer: its own config, refclock socket, command
/// socket and pidfile in a directory of the caller's; `-x` so it never
/// touches the system clock; stopped by its own pid. It never talks to the
/// machine's chronyd: `port 0` and `cmdport 0` close its network ports, and
/// `chronyc(_:)` always names the private command socket with `-h`.
///
/// Layout in `directory`:
///   chronyd.conf, chronyd.pid, chronyd.log (its log: `-d` logs to stderr)
///   vmclock.sock      the SOCK refclock socket (chronyd creates it as root,
///                     `srwxr-xr-x root`, and leaves it behind when it exits)
///   cmd/chronyd.sock  the command socket; chronyd creates `cmd/` itself,
///                     owned by _chrony, mode 0750 (it refuses a directory it
///                     does not own or that is group/world-writable)
///
/// Two chronyds can play the peer (`ChronyFlavor`): the host's (Debian 12,
/// 4.3; the default) and Debian 13's 4.6 from the root `.ci/trixie-chrony`
/// makes (`.debian13`). The latter runs as `chroot ROOT chronyd -x -d -f CONF`
/// with `directory` bind-mounted at the same absolute path inside the root,
/// because chronyd names its sockets, and replies to a client's socket, by
/// the path as it sees it. Host-side clients (the host's chronyc, our own
/// ControlClient and RefclockSocket) then use the very same paths for both.
/// The mount exists while chronyd runs: `start()` makes it, `stop()`,
/// `crash()` and a failed start remove it (and the mount point they created).
public final class ChronyProcess {
    public static let chronydPath = "/usr/sbin/chronyd"
    public static let chronycPath = "/usr/bin/chronyc"
    public static let chrootPath = "/usr/sbin/chroot"

    /// The Debian 13 root made by `.ci/trixie-chrony` (same default, same
    /// variable).
    public static let trixieRoot =
        getenv("VMCLOCKD_TRIXIE_ROOT").map { String(cString: $0) } ?? "/var/cache/vmclockd-tests/trixie-chrony"

    /// chronyd must start as root (it binds the refclock socket, then drops to
    /// _chrony); tests that need one are skipped elsewhere.
    public static var isAvailable: Bool { isAvailable(.debian12) }

    /// Whether a peer of this flavor can start here: root, and its chronyd
    /// and chronyc (for `.debian13`: in the trixie root, and chroot).
    public static func isAvailable(_ flavor: ChronyFlavor, root: String = trixieRoot) -> Bool {
        let prefix = flavor.isChrooted ? root : ""
        return geteuid() == 0 && (!flavor.isChrooted || access(chrootPath, X_OK) == 0)
            && access(prefix + chronydPath, X_OK) == 0 && access(prefix + chronycPath, X_OK) == 0
    }

    /// `chronyd --version` of a flavor's chronyd, reduced to the version
    /// ("4.3", "4.6.1"); nil if it does not run.
    public static func chronydVersion(_ flavor: ChronyFlavor, root: String = trixieRoot) -> String? {
        let command = (flavor.isChrooted ? [chrootPath, root] : []) + [chronydPath, "--version"]
        guard let result = try? runProgram(command, timeout: 5), result.status == 0 else { return nil }
        // "chronyd (chrony) version 4.6.1 (+CMDMON +NTP ...)"
        let words = result.stdout.split(separator: " ")
        guard let index = words.firstIndex(of: "version"), index + 1 < words.count else { return nil }
        return String(words[index + 1])
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public var reason: String
        public var log: String
        public var description: String { "chronyd did not start: \(reason)\n--- chronyd log ---\n\(log)" }
    }

    public let directory: String
    public let configPath: String
    public let refclockPath: String
    public let commandPath: String
    public let pidfilePath: String
    public let logPath: String
    /// Which chronyd this is.
    public let flavor: ChronyFlavor
    /// The Debian 13 root a `.debian13` chronyd runs in.
    public let root: String
    private var child: Child?
    /// `.debian13` while `directory` is bind-mounted into the root.
    private var bindMount: RootBindMount?

    /// Writes the config and starts chronyd, its refclock polled every 4 s at
    /// 1e-4 precision; `refclockOptions` go at the end of the refclock line
    /// (`noselect`, …, overriding those). `directory` must be an absolute path
    /// (it is also the path inside the root for `.debian13`).
    public convenience init(
        directory: String, refclockOptions: [String] = [], extraLines: [String] = [],
        flavor: ChronyFlavor = .debian12
    ) throws {
        let line = ["refclock SOCK \(directory)/vmclock.sock refid VMCK poll 2 precision 1e-4"] + refclockOptions
        try self.init(directory: directory, refclockLine: line.joined(separator: " "), extraLines: extraLines, flavor: flavor)
    }

    /// As above with the whole refclock line given (such as `vmclockd
    /// chrony-config` prints; it must name `directory`/vmclock.sock), and
    /// the root for `.debian13`. `extraLines` go at the end of the file.
    public init(
        directory: String, refclockLine: String, extraLines: [String] = [], flavor: ChronyFlavor = .debian12,
        root: String = trixieRoot
    ) throws {
        self.directory = directory
        self.flavor = flavor
        self.root = root
        configPath = "\(directory)/chronyd.conf"
        refclockPath = "\(directory)/vmclock.sock"
        commandPath = "\(directory)/cmd/chronyd.sock"
        pidfilePath = "\(directory)/chronyd.pid"
        logPath = "\(directory)/chronyd.log"
        let lines =
            [
                refclockLine,
                "bindcmdaddress \(commandPath)",
                "cmdport 0",
                "port 0",
                "pidfile \(pidfilePath)",
            ] + extraLines
        try writeFile(configPath, lines.joined(separator: "\n") + "\n")
        try start()
    }

    /// chronyd's pid while it runs (it stays in the foreground: `-d`).
    public var pid: pid_t? { isRunning ? child?.pid : nil }

    public var isRunning: Bool { !(child?.hasExited ?? true) }

    /// chronyd's log so far (all starts: the file is appended to).
    public var log: String { readFile(logPath) ?? "" }

    /// This peer's chronyd version ("4.3", "4.6.1"), from `chronyd --version`.
    public var chronydVersion: String? { Self.chronydVersion(flavor, root: root) }

    /// Starts `chronyd -x -d -f CONF` (a `Child`: empty signal mask, /dev/null
    /// as stdin, the log as stdout and stderr) and waits (at most `timeout`)
    /// until both its sockets exist. Throws with its log if it exits or times out.
    public func start(timeout: Double = 10) throws {
        precondition(!isRunning, "chronyd is already running")
        // Left by a crashed chronyd they would look like a ready one, or block
        // it; chronyd replaces the refclock socket itself.
        unlink(commandPath)
        unlink(pidfilePath)
        var arguments = [Self.chronydPath, "-x", "-d", "-f", configPath]
        if flavor.isChrooted {
            // The root's _chrony has another uid than the host's (100 vs 102
            // here): a `cmd/` made by the other flavor's chronyd in this
            // directory would be refused ("Wrong owner"). It only holds sockets.
            let commandDirectory = "\(directory)/cmd"
            var info = stat()
            if stat(commandDirectory, &info) == 0, let chronyUID = Self.chronyUID(root: root), info.st_uid != chronyUID {
                try? FileManager.default.removeItem(atPath: commandDirectory)
            }
            if bindMount == nil { bindMount = try RootBindMount(directory: directory, root: root) }
            arguments = [Self.chrootPath, root] + arguments
        }
        do {
            // chroot execs chronyd: the child's pid is chronyd's.
            child = try Child(name: "chronyd", arguments: arguments, stdout: .file(logPath), stderr: .file(logPath))
        } catch {
            bindMount = nil
            throw StartFailure(reason: "\(error)", log: "")
        }
        let deadline = monotonicNanoseconds() + Int64(timeout * 1e9)
        // The refclock socket may be a stale one from before a restart, but
        // chronyd binds it as root, before it drops privileges, and the command
        // socket after (hence its _chrony owner): the new command socket
        // existing means both are fresh.
        while !(fileExists(refclockPath) && fileExists(commandPath)) {
            if !isRunning {
                stop()
                throw StartFailure(reason: "exited (\(child?.exitDescription ?? "?"))", log: log)
            }
            if monotonicNanoseconds() > deadline {
                stop()
                throw StartFailure(reason: "sockets did not appear within \(timeout) s", log: log)
            }
            do { try checkInterruption() } catch {
                stop()
                throw error
            }
            usleep(10_000)
        }
    }

    /// SIGTERM to our own chronyd, SIGKILL if it lingers 5 s, then removes its
    /// pidfile: chronyd runs as _chrony by then and cannot remove a file in a
    /// root-owned directory, and a stale pidfile blocks the next start. Its
    /// command socket is gone afterwards (chronyd removes it from its own
    /// directory); the root-owned refclock socket stays, unbound. For
    /// `.debian13` the bind mount goes once chronyd is reaped.
    public func stop() { end(signal: SIGTERM) }

    /// SIGKILL to our own chronyd, as if it crashed: both its sockets stay
    /// behind as files nobody is bound to (still there on the host side once
    /// a `.debian13` peer's mount is gone: they are the directory's files).
    public func crash() { end(signal: SIGKILL) }

    private func end(signal: Int32) {
        defer { bindMount = nil }
        guard let child else { return }
        child.stop(signal: signal)
        unlink(pidfilePath)
    }

    /// Stop, then start again with the same config.
    public func restart() throws {
        stop()
        try start()
    }

    deinit { stop() }

    // MARK: The Debian 13 root

    /// The uid of `_chrony` in ROOT/etc/passwd.
    private static func chronyUID(root: String) -> uid_t? {
        guard let passwd = readFile(root + "/etc/passwd") else { return nil }
        for line in passwd.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count > 2, fields[0] == "_chrony" { return uid_t(fields[2]) }
        }
        return nil
    }

    // MARK: chronyc

    /// Runs `chronyc -h CMDSOCK -n [-c] ARGS` (never the machine's chronyd)
    /// and returns its standard output; killed (by its pid) after `timeout`.
    /// The host's chronyc (4.3) by default, whichever the peer; `client:
    /// .debian13` runs the root's 4.6 (`chroot ROOT chronyc`, which knows
    /// commands 4.3's does not, such as `selectopts`) and needs a running
    /// `.debian13` peer: it reaches the socket through the bind mount.
    public func chronyc(_ arguments: [String], csv: Bool = true, timeout: Double = 5, client: ChronyFlavor = .debian12)
        -> String
    {
        runChronyc(arguments, csv: csv, timeout: timeout, client: client).stdout
    }

    /// As `chronyc(_:)`, with exit status and standard error.
    public func runChronyc(
        _ arguments: [String], csv: Bool = true, timeout: Double = 5, client: ChronyFlavor = .debian12
    ) -> (status: Int32, stdout: String, stderr: String) {
        let command =
            (client.isChrooted ? [Self.chrootPath, root] : []) + [Self.chronycPath, "-h", commandPath, "-n"]
            + (csv ? ["-c"] : []) + arguments
        do { return try runProgram(command, timeout: timeout) } catch { return (-1, "", "\(error)") }
    }

    /// The VMCK row of `chronyc -c sourcestats`, nil if there is none.
    public func sourceStats() -> SourceStatsRow? {
        chronyc(["sourcestats"]).split(separator: "\n").lazy.compactMap { SourceStatsRow(csv: $0) }
            .first { $0.name == "VMCK" }
    }

    /// The VMCK row of `chronyc -c sources`, nil if there is none.
    public func sources() -> SourcesRow? {
        chronyc(["sources"]).split(separator: "\n").lazy.compactMap { SourcesRow(csv: $0) }
            .first { $0.name == "VMCK" }
    }

    /// `chronyc -c tracking`, nil if chronyc printed no tracking line.
    public func tracking() -> TrackingRow? {
        chronyc(["tracking"]).split(separator: "\n").lazy.compactMap { TrackingRow(csv: $0) }.first
    }
}
