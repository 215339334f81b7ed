import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private chronyd as a test peer: its own config, refclock socket, command
/// socket and pidfile in a test directory; `-x` so it never touches the system
/// clock; stopped by its own pid. It never talks to the machine's chronyd:
/// `port 0` and `cmdport 0` close its network ports, and `chronyc(_:)` always
/// names the private command socket with `-h`.
///
/// Layout in `directory`:
///   chronyd.conf, chronyd.pid, chronyd.stderr (its log: `-d` logs to stderr)
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
final class ChronyProcess {
    static let chronydPath = "/usr/sbin/chronyd"
    static let chronycPath = "/usr/bin/chronyc"
    static let chrootPath = "/usr/sbin/chroot"

    /// The Debian 13 root made by `.ci/trixie-chrony` (same default, same
    /// variable).
    static let trixieRoot =
        ProcessInfo.processInfo.environment["VMCLOCKD_TRIXIE_ROOT"] ?? "/var/cache/vmclockd-tests/trixie-chrony"

    /// chronyd must start as root (it binds the refclock socket, then drops to
    /// _chrony); tests that need one are skipped elsewhere.
    static var isAvailable: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: chronydPath)
            && FileManager.default.isExecutableFile(atPath: chronycPath)
    }

    /// Whether a peer of this flavor can start here: root, and its chronyd
    /// and chronyc (for `.debian13`: in the trixie root, and chroot).
    static func isAvailable(_ flavor: ChronyFlavor) -> Bool {
        switch flavor {
        case .debian12: return isAvailable
        case .debian13:
            let fm = FileManager.default
            return geteuid() == 0 && fm.isExecutableFile(atPath: chrootPath)
                && fm.isExecutableFile(atPath: trixieRoot + chronydPath)
                && fm.isExecutableFile(atPath: trixieRoot + chronycPath)
        }
    }

    /// `chronyd --version` of a flavor's chronyd, reduced to the version
    /// ("4.3", "4.6.1"); nil if it does not run.
    static func chronydVersion(_ flavor: ChronyFlavor) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: flavor.isChrooted ? chrootPath : chronydPath)
        process.arguments = (flavor.isChrooted ? [trixieRoot, chronydPath] : []) + ["--version"]
        let result = run(process, timeout: 5)
        // "chronyd (chrony) version 4.6.1 (+CMDMON +NTP ...)"
        let words = result.stdout.split(separator: " ")
        guard result.status == 0, let index = words.firstIndex(of: "version"), index + 1 < words.count else {
            return nil
        }
        return String(words[index + 1])
    }

    struct StartFailure: Error, CustomStringConvertible {
        var reason: String
        var log: String
        var description: String { "chronyd did not start: \(reason)\n--- chronyd stderr ---\n\(log)" }
    }

    let directory: String
    let configPath: String
    let refclockPath: String
    let commandPath: String
    let pidfilePath: String
    let stderrPath: String
    /// Which chronyd this is.
    let flavor: ChronyFlavor
    private var childPID: pid_t?
    private var lastWaitStatus: Int32 = 0
    /// `.debian13` while `directory` is bind-mounted into the root: the mount
    /// point, and the directories we created for it (to remove, deepest first).
    private var bindMount: (target: String, created: [String])?

    /// Writes the config and starts chronyd. `refclockOptions` go at the end of
    /// the refclock line (`noselect`, …); `extraLines` at the end of the file.
    /// `directory` must be an absolute path (it is also the path inside the
    /// root for `.debian13`).
    init(
        directory: String, refclockOptions: [String] = [], extraLines: [String] = [],
        flavor: ChronyFlavor = .debian12
    ) throws {
        self.directory = directory
        self.flavor = flavor
        configPath = "\(directory)/chronyd.conf"
        refclockPath = "\(directory)/vmclock.sock"
        commandPath = "\(directory)/cmd/chronyd.sock"
        pidfilePath = "\(directory)/chronyd.pid"
        stderrPath = "\(directory)/chronyd.stderr"
        let lines =
            [
                (["refclock SOCK \(refclockPath) refid VMCK poll 2 precision 1e-4"] + refclockOptions)
                    .joined(separator: " "),
                "bindcmdaddress \(commandPath)",
                "cmdport 0",
                "port 0",
                "pidfile \(pidfilePath)",
            ] + extraLines
        try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        try start()
    }

    /// chronyd's pid while it runs (it stays in the foreground: `-d`).
    var pid: pid_t? { isRunning ? childPID : nil }

    var isRunning: Bool { !reap(blocking: false) }

    /// chronyd's log so far (all starts: the file is appended to).
    var log: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// This peer's chronyd version ("4.3", "4.6.1"), from `chronyd --version`.
    var chronydVersion: String? { Self.chronydVersion(flavor) }

    /// Starts `chronyd -x -d -f CONF` and waits (at most `timeout`) until both
    /// its sockets exist. Throws with its log if it exits or times out.
    ///
    /// Spawned with posix_spawn rather than Foundation's Process: a child of
    /// the test process inherits its blocked-signal mask, which blocks SIGTERM
    /// (seen: SigBlk fffffffe3bfbea27 in /proc/PID/status), so chronyd would
    /// never see our SIGTERM, be SIGKILLed after 5 s and leave its command
    /// socket behind. Here chronyd gets an empty mask, default dispositions,
    /// /dev/null as stdin, the log file as stdout and stderr, and no other
    /// inherited descriptor (which could hold another test's pipe open).
    func start(timeout: Double = 10) throws {
        precondition(!isRunning, "chronyd is already running")
        // A command socket left by a crashed chronyd would look like a ready
        // one; chronyd replaces the refclock socket itself.
        unlink(commandPath)
        guard flavor.isChrooted else {
            childPID = try Self.spawn(
                [Self.chronydPath, "-x", "-d", "-f", configPath], output: stderrPath)
            try waitForSockets(timeout: timeout)
            return
        }
        // The root's _chrony has another uid than the host's (100 vs 102
        // here): a `cmd/` made by the other flavor's chronyd in this directory
        // would be refused ("Wrong owner"). It only ever holds sockets.
        let commandDirectory = (commandPath as NSString).deletingLastPathComponent
        var info = stat()
        if stat(commandDirectory, &info) == 0, let chronyUID = Self.chronyUID(root: Self.trixieRoot),
            info.st_uid != chronyUID
        {
            try? FileManager.default.removeItem(atPath: commandDirectory)
        }
        do {
            try mountIntoRoot()
            childPID = try Self.spawn(
                [Self.chrootPath, Self.trixieRoot, Self.chronydPath, "-x", "-d", "-f", configPath],
                output: stderrPath)
            try waitForSockets(timeout: timeout)
        } catch {
            // waitForSockets has stopped chronyd (stop() unmounts too).
            unmountFromRoot()
            throw error
        }
    }

    private func waitForSockets(timeout: Double) throws {

        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let fm = FileManager.default
            if fm.fileExists(atPath: refclockPath) && fm.fileExists(atPath: commandPath) {
                // The refclock socket may be a stale one from before a restart,
                // but chronyd binds it as root, before it drops privileges, and
                // the command socket after (hence its _chrony owner): the new
                // command socket existing means both are fresh.
                return
            }
            if !isRunning {
                removePidfile()
                unmountFromRoot()
                throw StartFailure(reason: "exited (wait status \(lastWaitStatus))", log: log)
            }
            if Date() > deadline {
                stop()
                throw StartFailure(reason: "sockets did not appear within \(timeout) s", log: log)
            }
            usleep(20_000)
        }
    }

    /// SIGTERM to our own chronyd, SIGKILL if it lingers 5 s, then removes its
    /// pidfile: chronyd runs as _chrony by then and cannot remove a file in a
    /// root-owned directory, and a stale pidfile blocks the next start. Its
    /// command socket is gone afterwards (chronyd removes it from its own
    /// directory); the root-owned refclock socket stays, unbound. For
    /// `.debian13` the bind mount goes once chronyd is reaped (chroot execs
    /// chronyd: the child's pid is chronyd's).
    func stop() {
        defer { unmountFromRoot() }
        guard let pid = childPID else { return }
        if isRunning {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while isRunning && Date() < deadline { usleep(10_000) }
            if isRunning { kill(pid, SIGKILL) }
        }
        _ = reap(blocking: true)
        removePidfile()
    }

    /// SIGKILL to our own chronyd, as if it crashed: both its sockets stay
    /// behind as files nobody is bound to (still there on the host side once
    /// a `.debian13` peer's mount is gone: they are the directory's files).
    func crash() {
        defer { unmountFromRoot() }
        guard let pid = childPID else { return }
        if isRunning { kill(pid, SIGKILL) }
        _ = reap(blocking: true)
        removePidfile()
    }

    /// True once our child has exited (and is reaped), or if there is none.
    private func reap(blocking: Bool) -> Bool {
        guard let pid = childPID else { return true }
        var status: Int32 = 0
        let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
        if result == pid || (result < 0 && errno == ECHILD) {
            childPID = nil
            lastWaitStatus = status
            return true
        }
        return false
    }

    private static func spawn(_ arguments: [String], output: String) throws -> pid_t {
        do {
            return try spawnPeer(arguments, output: output)
        } catch {
            throw StartFailure(reason: "\(error)", log: "")
        }
    }

    /// Stop, then start again with the same config.
    func restart() throws {
        stop()
        try start()
    }

    private func removePidfile() { unlink(pidfilePath) }

    deinit { stop() }

    // MARK: The Debian 13 root

    struct MountFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Bind-mounts `directory` at the same path inside the trixie root,
    /// creating the missing part of that path (ROOT/tmp exists; the test
    /// directory's name does not).
    private func mountIntoRoot() throws {
        guard bindMount == nil else { return }
        Self.removeStaleMounts()
        let source = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard source.hasPrefix("/"), source != "/" else {
            throw MountFailure(description: "\(directory) is no absolute directory path")
        }
        let target = Self.trixieRoot + source
        var created: [String] = []
        var path = target
        while !FileManager.default.fileExists(atPath: path) {
            created.append(path)
            path = (path as NSString).deletingLastPathComponent
        }
        for path in created.reversed() {
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
                let error = String(cString: strerror(errno))
                created.filter { $0 != path }.forEach { _ = rmdir($0) }
                throw MountFailure(description: "mkdir \(path): \(error)")
            }
        }
        guard Glibc.mount(source, target, nil, UInt(MS_BIND), nil) == 0 else {
            let error = String(cString: strerror(errno))
            created.forEach { _ = rmdir($0) }  // deepest first
            throw MountFailure(description: "mount --bind \(source) \(target): \(error)")
        }
        bindMount = (target, created)
    }

    /// Undoes `mountIntoRoot` (idempotent). Nothing of ours runs inside the
    /// mount by now; should it still be busy, it is detached (MNT_DETACH)
    /// rather than left behind. Only directories we created, and only empty
    /// ones (rmdir), are removed.
    private func unmountFromRoot() {
        guard let mount = bindMount else { return }
        if umount2(mount.target, 0) != 0 && errno != EINVAL {
            _ = umount2(mount.target, Int32(MNT_DETACH))
        }
        bindMount = nil
        mount.created.forEach { _ = rmdir($0) }  // deepest first
    }

    /// Detaches bind mounts inside the trixie root whose source directory is
    /// gone (the kernel marks its root `//deleted`): left by a test process
    /// killed before its peers stopped. A live test's directory exists, so
    /// its mount is never touched.
    static func removeStaleMounts() {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return }
        for line in table.split(separator: "\n") {
            // id parent major:minor root mount-point options ... (proc(5))
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[3].hasSuffix("//deleted") else { continue }
            let mountPoint = unescapeMountinfo(String(fields[4]))
            guard mountPoint.hasPrefix(trixieRoot + "/") else { continue }
            _ = umount2(mountPoint, Int32(MNT_DETACH))
            _ = rmdir(mountPoint)
        }
    }

    /// mountinfo writes space, tab, newline and backslash as \ooo.
    private static func unescapeMountinfo(_ field: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The uid of `_chrony` in ROOT/etc/passwd.
    private static func chronyUID(root: String) -> uid_t? {
        guard let passwd = try? String(contentsOfFile: root + "/etc/passwd", encoding: .utf8) else { return nil }
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
    func chronyc(_ arguments: [String], csv: Bool = true, timeout: Double = 5, client: ChronyFlavor = .debian12)
        -> String
    {
        runChronyc(arguments, csv: csv, timeout: timeout, client: client).stdout
    }

    /// As `chronyc(_:)`, with exit status and standard error.
    func runChronyc(
        _ arguments: [String], csv: Bool = true, timeout: Double = 5, client: ChronyFlavor = .debian12
    ) -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        let chronyc = ["-h", commandPath, "-n"] + (csv ? ["-c"] : []) + arguments
        if client.isChrooted {
            process.executableURL = URL(fileURLWithPath: Self.chrootPath)
            process.arguments = [Self.trixieRoot, Self.chronycPath] + chronyc
        } else {
            process.executableURL = URL(fileURLWithPath: Self.chronycPath)
            process.arguments = chronyc
        }
        return Self.run(process, timeout: timeout)
    }

    /// Runs a prepared process with its output captured, killing it by pid
    /// after `timeout`. Output is small (a few lines), well within a pipe's
    /// buffer, so reading after exit cannot deadlock.
    static func run(_ process: Process, timeout: Double) -> (status: Int32, stdout: String, stderr: String) {
        let out = Pipe(), err = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { return (-1, "", "cannot run \(process.executableURL?.path ?? "?"): \(error)") }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        var timedOut = false
        if process.isRunning {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        var stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if timedOut { stderr += "\n(killed after \(timeout) s)" }
        return (process.terminationStatus, stdout, stderr)
    }

    /// The VMCK row of `chronyc -c sourcestats`, nil if there is none.
    func sourceStats() -> SourceStatsRow? {
        chronyc(["sourcestats"]).split(separator: "\n").lazy.compactMap { SourceStatsRow(csv: $0) }
            .first { $0.name == "VMCK" }
    }

    /// The VMCK row of `chronyc -c sources`, nil if there is none.
    func sources() -> SourcesRow? {
        chronyc(["sources"]).split(separator: "\n").lazy.compactMap { SourcesRow(csv: $0) }
            .first { $0.name == "VMCK" }
    }

    /// `chronyc -c tracking`, nil if chronyc printed no tracking line.
    func tracking() -> TrackingRow? {
        chronyc(["tracking"]).split(separator: "\n").lazy.compactMap { TrackingRow(csv: $0) }.first
    }
}

/// Which chronyd a `ChronyProcess` runs.
enum ChronyFlavor: CaseIterable, CustomStringConvertible, Sendable {
    /// The host's /usr/sbin/chronyd: Debian 12's chrony 4.3.
    case debian12
    /// Debian 13's chrony 4.6.1, in the root `.ci/trixie-chrony` makes.
    case debian13

    var isChrooted: Bool { self == .debian13 }

    var description: String {
        switch self {
        case .debian12: "Debian 12 chronyd 4.3"
        case .debian13: "Debian 13 chronyd 4.6"
        }
    }
}

// MARK: chronyc -c rows
//
// Column meanings verified against chrony 4.3 by running `chronyc -c X` and
// `chronyc X -v` side by side on the same private chronyd. In CSV mode chronyc
// prints raw values: seconds (not "us"/"ms"), signed where the text form
// prints an absolute value plus a word, and no unit suffixes.

/// One line of `chronyc -c sourcestats`:
///   0 name · 1 NP (number of sample points in the measurement set) ·
///   2 NR (residual runs with the same sign) · 3 span (s) ·
///   4 frequency (ppm, est. clock freq error) · 5 freq skew (ppm) ·
///   6 est. offset (s; the text form's "Offset" in us/ms) · 7 std dev (s).
/// Example: `VMCK,4,3,20,-0.000,0.000,-0.005000000,0.000000001` is shown as
/// `VMCK  4  3  20  -0.000  0.000  -5000us  1ns`. With NP < 3 chronyd has no
/// spread yet and reports std dev 4 s (and skew 2000 ppm).
struct SourceStatsRow: Equatable {
    var name: String
    var samples: Int
    var runs: Int
    var spanSeconds: Int
    var frequencyPPM: Double
    var skewPPM: Double
    var offsetSeconds: Double
    var standardDeviationSeconds: Double

    init?(csv line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 8, let np = Int(f[1]), let nr = Int(f[2]), let span = Int(f[3]),
            let freq = Double(f[4]), let skew = Double(f[5]), let offset = Double(f[6]), let sd = Double(f[7])
        else { return nil }
        (name, samples, runs, spanSeconds) = (f[0], np, nr, span)
        (frequencyPPM, skewPPM, offsetSeconds, standardDeviationSeconds) = (freq, skew, offset, sd)
    }
}

/// One line of `chronyc -c sources`:
///   0 mode (`#` local clock/refclock, `^` server, `=` peer) ·
///   1 state (`*` selected, `+` combined, `-` not combined, `?` unusable,
///     `x` maybe in error, `~` too variable) · 2 name · 3 stratum ·
///   4 poll (log2 s) · 5 reach (the reachability register, in OCTAL as in the
///     text form: `17` = the last 4 polls) · 6 LastRx (s since the last sample;
///     4294967295 = never) · 7 adjusted offset (s; the text form's xxxx) ·
///   8 measured offset (s; the text form's [yyyy]) · 9 error (s; +/- zzzz).
/// Offsets are source − local with the sign reversed: a reference 5 ms ahead
/// of the system clock shows as -0.005000000 (text `-5000us[-5000us]`).
struct SourcesRow: Equatable {
    var mode: String
    var state: String
    var name: String
    var stratum: Int
    var pollLog2: Int
    var reach: Int
    var lastRxSeconds: UInt32?
    var adjustedOffsetSeconds: Double
    var measuredOffsetSeconds: Double
    var errorSeconds: Double

    init?(csv line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 10, let stratum = Int(f[3]), let poll = Int(f[4]), let reach = Int(f[5], radix: 8),
            let lastRx = UInt32(f[6]), let adjusted = Double(f[7]), let measured = Double(f[8]),
            let error = Double(f[9])
        else { return nil }
        (mode, state, name, self.stratum, pollLog2, self.reach) = (f[0], f[1], f[2], stratum, poll, reach)
        lastRxSeconds = lastRx == UInt32.max ? nil : lastRx
        (adjustedOffsetSeconds, measuredOffsetSeconds, errorSeconds) = (adjusted, measured, error)
    }
}

/// The line of `chronyc -c tracking`:
///   0 reference ID (8 hex digits; `564D434B` = "VMCK", `00000000` = none) ·
///   1 reference name or address (`VMCK`; empty when none) · 2 stratum ·
///   3 ref time (s since the epoch, 9 decimals) ·
///   4 system time (s, SIGNED: chronyd's current correction; positive = the
///     text form's "seconds slow of NTP time", negative = "fast") ·
///   5 last offset (s, signed as in the text form: negative = the local clock
///     was behind the reference at the last update) · 6 RMS offset (s) ·
///   7 frequency (ppm, signed: negative = the text form's "ppm slow") ·
///   8 residual freq (ppm) · 9 skew (ppm) · 10 root delay (s) ·
///   11 root dispersion (s) · 12 update interval (s) · 13 leap status (text).
/// Example: `564D434B,VMCK,1,1795596828.527114739,0.008253748,-0.000381256,…`
/// is shown as "System time : 0.008253748 seconds slow of NTP time",
/// "Last offset : -0.000381256 seconds".
struct TrackingRow: Equatable {
    var referenceIDHex: String
    var referenceID: UInt32
    var referenceName: String
    var stratum: Int
    var referenceTime: Double
    var systemTimeSeconds: Double
    var lastOffsetSeconds: Double
    var rmsOffsetSeconds: Double
    var frequencyPPM: Double
    var residualFrequencyPPM: Double
    var skewPPM: Double
    var rootDelaySeconds: Double
    var rootDispersionSeconds: Double
    var updateIntervalSeconds: Double
    var leapStatus: String

    init?(csv line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 14, f[0].count == 8, let id = UInt32(f[0], radix: 16), let stratum = Int(f[2]) else {
            return nil
        }
        let numbers = f[3...12].compactMap(Double.init)
        guard numbers.count == 10 else { return nil }
        (referenceIDHex, referenceID, referenceName, self.stratum) = (f[0], id, f[1], stratum)
        referenceTime = numbers[0]
        systemTimeSeconds = numbers[1]
        lastOffsetSeconds = numbers[2]
        rmsOffsetSeconds = numbers[3]
        frequencyPPM = numbers[4]
        residualFrequencyPPM = numbers[5]
        skewPPM = numbers[6]
        rootDelaySeconds = numbers[7]
        rootDispersionSeconds = numbers[8]
        updateIntervalSeconds = numbers[9]
        leapStatus = f[13]
    }
}
