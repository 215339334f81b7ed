import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// The directory of chronyd's sockets, as the systemd unit's sandbox
    /// shows it: a bind mount of /run/chrony. When chronyd's unit removes
    /// that directory the bind still shows it, deleted (link count 0), and
    /// nothing the daemon can do brings the new one into view, so `vmclockd
    /// run` stops with 75 (EX_TEMPFAIL) for the unit to start it again.
    ///
    /// Done for real: the daemon runs in its own mount namespace
    /// (unshare(1)) with a real bind mount, and the bound directory is
    /// removed from this process, outside the namespace, as systemd would.
    /// Each test starts its own simulator and daemon and stops both by pid.
    /// No chronyd: its sockets are simply missing, which the daemon tolerates.
    @Suite(
        .enabled(
            if: geteuid() == 0 && access(unshareProgram, X_OK) == 0,
            "needs root and /usr/bin/unshare (a mount namespace and a bind mount)"))
    struct SocketDirectory {
        static let deleted = "was deleted and cannot be seen again from this process"

        /// `vmclockd run` in a new, private mount namespace in which `source`
        /// is bound onto `view` first. unshare and sh exec, so the child's pid
        /// is vmclockd's, and so is its exit status (a failed mount ends it
        /// with mount's, its complaint in the log).
        static func daemonInMountNamespace(binding source: String, onto view: String, options: [String], logPath: String)
            throws -> DaemonProcess
        {
            let script = #"source=$1 view=$2; shift 2; mount --bind "$source" "$view" && exec "$@""#
            return try DaemonProcess(
                arguments: [unshareProgram, "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", source, view,
                            Products.vmclockd.path, "run"] + options,
                logPath: logPath)
        }

        /// Mount points in a /proc/PID/mountinfo (the fifth field).
        static func mountPoints(_ pid: String) -> [String] {
            (readFile("/proc/\(pid)/mountinfo") ?? "").split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ")
                return fields.count > 4 ? String(fields[4]) : nil
            }
        }

        @Test func aDeletedStillVisibleSocketDirectoryStopsTheDaemonWith75() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            // /run/chrony as systemd makes it, and the sandbox's view of it.
            let real = dir.path("chrony")
            let view = dir.path("view")
            try makeDirectory(real)
            try makeDirectory(view)
            let sim = try SimulatorProcess(page: dir.path("page"))
            defer { sim.stop() }
            let daemon = try Self.daemonInMountNamespace(
                binding: real, onto: view,
                options: [
                    "--device", sim.pagePath,
                    "--refclock-socket", view + "/vmclock.sock",
                    "--control-socket", view + "/chronyd.sock",
                    // Its own socket elsewhere, so that `real` stays empty for rmdir.
                    "--control-reply-socket", dir.path("reply.sock"),
                    "--state-file", dir.path("page-identity"),
                ],
                logPath: dir.path("daemon.log"))
            defer { daemon.stop() }
            // Tracking comes after the 20 ms calibration, so the loop has
            // checked the (live) directory at least once by then.
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(daemon.log)")
            let pid = try #require(daemon.pid, "\(daemon.log)")
            #expect(daemon.lines(containing: Self.deleted).isEmpty, "a live directory: \(daemon.log)")

            // A real bind mount, in the daemon's namespace only.
            #expect(Self.mountPoints("\(pid)").contains(view), "\(readFile("/proc/\(pid)/mountinfo") ?? "")")
            #expect(!Self.mountPoints("self").contains(view), "the bind leaked out of the daemon's namespace")

            // chronyd's unit stopping: its directory removed, from outside.
            try #require(rmdir(real) == 0, "rmdir \(real): \(String(cString: strerror(errno)))")
            #expect(!fileExists(real))

            let exited = eventually(within: 10, every: 0.01) { !daemon.isRunning }
            try #require(exited, "the daemon kept running with its socket directory deleted:\n\(daemon.log)")
            let stopped = daemon.stop()
            #expect(stopped.exit == .status(75), "\(stopped.exit?.description ?? "reaped elsewhere"):\n\(daemon.log)")
            #expect(!stopped.killed)
            let lines = daemon.lines(containing: Self.deleted)
            #expect(lines.count == 1, "\(daemon.log)")
            #expect(lines.allSatisfy { $0.contains("\(view) \(Self.deleted)") }, "names \(view): \(lines)")
            #expect(daemon.lines(containing: "stopping on signal").isEmpty, "\(daemon.log)")
        }

        /// chronyd not started yet: its directory simply is not there. That
        /// is not a deletion, however many checks pass.
        @Test func aMissingSocketDirectoryDoesNotStopTheDaemon() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let absent = dir.path("chrony")
            let sim = try SimulatorProcess(page: dir.path("page"))
            defer { sim.stop() }
            let daemon = try DaemonProcess(
                device: sim.pagePath, refclockSocket: absent + "/vmclock.sock", controlSocket: absent + "/chronyd.sock",
                options: ["--control-reply-socket", dir.path("reply.sock")], logPath: dir.path("daemon.log"))
            defer { daemon.stop() }
            try #require(daemon.waitForLog(containing: "→ tracking", within: 10) != nil, "\(daemon.log)")
            try #require(
                daemon.waitForLog(containing: "is not there (No such file or directory)", within: 5) != nil, "\(daemon.log)")
            #expect(!fileExists(absent))

            // Three times the check's 1 s interval: it must not exit meanwhile.
            let exited = eventually(within: 3, every: 0.05) { !daemon.isRunning }
            #expect(!exited, "the daemon stopped on a missing directory:\n\(daemon.log)")
            #expect(daemon.lines(containing: Self.deleted).isEmpty, "\(daemon.log)")

            let stopped = daemon.stop()
            #expect(stopped.exit == .status(0), "\(stopped.exit?.description ?? "reaped elsewhere"):\n\(daemon.log)")
            #expect(!stopped.killed)
            #expect(daemon.lines(containing: "stopping on signal 15").count == 1, "\(daemon.log)")
            #expect(daemon.lines(containing: Self.deleted).isEmpty, "\(daemon.log)")
        }
    }
}

/// util-linux unshare(1), which makes the mount namespace.
private let unshareProgram = "/usr/bin/unshare"
