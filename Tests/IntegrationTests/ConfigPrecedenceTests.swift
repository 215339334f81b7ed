import Foundation
import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// Where settings come from: the built-in defaults, then the config file,
    /// then the command line; for `chrony-config` (chronyd's refclock line)
    /// and for `run` (what the daemon does, seen from outside: where its
    /// samples go and the promise it logs), which must agree.
    @Suite struct ConfigPrecedence {
        static let defaultLine = "refclock SOCK /run/chrony/vmclock.sock refid VMCK poll -4 precision 0.001"

        @Test func chronyConfigTakesTheFileOverTheDefaultsAndTheCommandLineOverTheFile() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let path = dir.path("vmclockd.conf")
            // Spaces around '=' or none, comments on their own lines or after a value.
            try writeFile(path, "# an operator's\nrefclock-socket = /srv/chrony/vmck.sock   # trailing comment\n\ninterval=0.25\n\tmax-error = 0.002\n")

            let defaults = try runVMClockd(["chrony-config", "--config", "none"])
            #expect(defaults.status == 0 && defaults.stdout == Self.defaultLine + "\n", "\(defaults)")
            let file = try runVMClockd(["chrony-config", "--config", path])
            #expect(file.stdout == "refclock SOCK /srv/chrony/vmck.sock refid VMCK poll -2 precision 0.002\n", "\(file)")
            let both = try runVMClockd(["chrony-config", "--config", path, "--max-error", "0.003", "--interval=1"])
            #expect(both.stdout == "refclock SOCK /srv/chrony/vmck.sock refid VMCK poll 0 precision 0.003\n", "\(both)")
            // 'none' reads no file even where one is given before it.
            let none = try runVMClockd(["chrony-config", "--config", path, "--config", "none"])
            #expect(none.stdout == Self.defaultLine + "\n", "\(none)")
        }

        @Test(.enabled(if: !fileExists("/etc/vmclockd.conf"), "this machine has an /etc/vmclockd.conf"))
        func withoutTheDefaultFileTheDefaultsApply() throws {
            let printed = try runVMClockd(["chrony-config"])
            #expect(printed.status == 0 && printed.stdout == Self.defaultLine + "\n", "\(printed)")
        }

        /// `run` against the simulator: the file's refclock socket gets the
        /// samples and the file's promise is the one logged, with the same
        /// refclock line `chrony-config` makes of that file; the command line
        /// then moves both.
        @Test func runTakesTheFileAndTheCommandLineOverIt() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("vmclock0"))
            defer { sim.stop() }
            let fromFile = try DatagramInbox(path: dir.path("file.sock"))
            let fromCommandLine = try DatagramInbox(path: dir.path("command-line.sock"))
            let config = dir.path("vmclockd.conf")
            try writeFile(config, "refclock-socket = \(fromFile.path)\ninterval = 0.25\nmax-error = 0.002\n")
            let common = ["--config", config, "--device", sim.pagePath, "--control-socket", dir.path("chronyd.sock"),
                          "--state-file", dir.path("page-identity"), "--status-file", "none", "--metrics-file", "none"]

            func started(_ extra: [String], log: String, sampleAt inbox: DatagramInbox) throws -> String {
                let daemon = try DaemonProcess(arguments: [Products.vmclockd.path, "run"] + common + extra, logPath: dir.path(log))
                defer { daemon.stop() }
                let line = try #require(daemon.waitForLog(containing: "started:", within: 10), "\(daemon.log)")
                #expect(inbox.receive(within: 10), "no sample at \(inbox.path):\n\(daemon.log)")
                return line
            }

            let fileLine = try started([], log: "file.log", sampleAt: fromFile)
            let fileRefclock = try runVMClockd(["chrony-config", "--config", config]).stdout.trimmingCharacters(in: .newlines)
            #expect(fileLine.contains("samples every 0.25 s to \(fromFile.path), promise 0.002 s"), "\(fileLine)")
            #expect(fileLine.hasSuffix("chronyd needs: \(fileRefclock)"), "run and chrony-config disagree:\n\(fileLine)\n\(fileRefclock)")
            _ = fromFile.queued()

            let override = ["--refclock-socket", fromCommandLine.path, "--max-error", "0.003"]
            let commandLine = try started(override, log: "command-line.log", sampleAt: fromCommandLine)
            let commandLineRefclock = try runVMClockd(["chrony-config", "--config", config] + override).stdout
                .trimmingCharacters(in: .newlines)
            #expect(commandLine.contains("samples every 0.25 s to \(fromCommandLine.path), promise 0.003 s"), "\(commandLine)")
            #expect(commandLine.hasSuffix("chronyd needs: \(commandLineRefclock)"), "\(commandLine)\n\(commandLineRefclock)")
            // The daemon has stopped: anything it sent to the file's socket is queued by now.
            #expect(fromFile.queued() == 0, "the command line's socket did not replace the file's")
        }

        /// `status` reads the keys it shares with `run` from the same file (the
        /// rest are `run`'s), and a file `run` would refuse it refuses too.
        @Test func statusTakesTheDeviceFromTheFileAndRefusesWhatRunRefuses() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("vmclock0"))
            defer { sim.stop() }
            let config = dir.path("vmclockd.conf")
            try writeFile(config, "device = \(sim.pagePath)\nmax-error = 0.002\nstatus-file = none\n")
            let fromFile = try runVMClockd(["status", "--config", config, "--json"])
            #expect(fromFile.status == 0 && fromFile.stdout.contains("\"device\" : \"\(sim.pagePath)\""), "\(fromFile)")
            let overridden = try runVMClockd(["status", "--config", config, "--device", dir.path("absent"), "--json"])
            #expect(overridden.status == 2, "the command line's --device did not win: \(overridden)")
            try writeFile(config, "device = \(sim.pagePath)\nmax-eror = 0.002\n")
            let refused = try runVMClockd(["status", "--config", config])
            #expect(refused.status == 64 && refused.stderr.contains("\(config):2: unknown key 'max-eror'"), "\(refused)")
        }

        // MARK: - chronyd's refclock line in a file

        @Test func writeReplacesTheFileAtomicallyWithTheLineAndWhereItCameFrom() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let config = dir.path("vmclockd.conf")
            try writeFile(config, "max-error = 0.002\n")
            try makeDirectory(dir.path("conf.d"))
            let snippet = dir.path("conf.d/vmclockd.conf")
            try writeFile(snippet, "an older line\n")
            chmod(snippet, 0o600)
            let before = try inode(snippet)

            let written = try runVMClockd(["chrony-config", "--config", config, "--write", snippet])
            #expect(written.status == 0 && written.stdout.isEmpty && written.stderr.isEmpty, "\(written)")
            let printed = try runVMClockd(["chrony-config", "--config", config]).stdout
            let text = try #require(readFile(snippet))
            let lines = text.split(separator: "\n")
            #expect(lines.filter { !$0.hasPrefix("#") } == [Substring(printed.trimmingCharacters(in: .newlines))], "\(text)")
            #expect(text.contains("from \(config)."), "the file does not say where it came from:\n\(text)")
            var info = stat()
            stat(snippet, &info)
            #expect(info.st_mode & 0o777 == 0o644, "mode \(String(info.st_mode & 0o777, radix: 8))")
            #expect(try inode(snippet) != before, "written in place, not renamed over the old file")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("conf.d")) == ["vmclockd.conf"], "a temporary file was left")

            let nowhere = try runVMClockd(["chrony-config", "--config", config, "--write", dir.path("missing/vmclockd.conf")])
            #expect(nowhere.status == 1 && nowhere.stderr.contains("cannot create a file in \(dir.path("missing")): No such file"), "\(nowhere)")
            let proposal = try runVMClockd(["chrony-config", "--config", config, "--from-page", "--write", snippet])
            #expect(proposal.status == 64 && proposal.stderr.contains("--from-page proposes a promise; it cannot be written"), "\(proposal)")
            #expect(try inode(snippet) != before && readFile(snippet) == text, "a refused write touched the file")
        }

        /// The packaged unit starts `run --check-chrony-snippet FILE`: settings
        /// edited and only vmclockd restarted are refused, naming the restart.
        @Test func runRefusesSettingsOtherThanThoseChronydsLineWasMadeFrom() throws {
            let rig = try ConfigRig()
            defer { rig.stop() }
            let snippet = rig.dir.path("chrony-vmclockd.conf")
            let old = try rig.config("max-error = 0.002\n", name: "old.conf")
            #expect(try runVMClockd(["chrony-config", "--config", old, "--write", snippet] + rig.paths).status == 0)
            let edited = try rig.config("max-error = 0.003\n", name: "edited.conf")

            let refused = try runVMClockdRefusal(rig, ["--config", edited, "--check-chrony-snippet", snippet])
            rig.expectRefused(refused, saying: "Error: \(snippet) gives chronyd 'refclock SOCK \(rig.refclock.path) refid VMCK poll -4 precision 0.002', but these settings need 'refclock SOCK \(rig.refclock.path) refid VMCK poll -4 precision 0.003'")
            #expect(refused.stderr.contains("Restart chronyd"), "\(refused.stderr)")

            // Checked and accepted (--print-config: the settings, nothing started).
            let accepted = try runVMClockdRefusal(rig, ["--config", old, "--check-chrony-snippet", snippet, "--print-config"])
            #expect(accepted.status == 0 && accepted.stdout.contains("\nmax-error = 0.002\n"), "\(accepted)")
            // Nothing to disagree with: no file, or no refclock line in it (chronyd configured elsewhere).
            let missing = try runVMClockdRefusal(rig, ["--config", edited, "--check-chrony-snippet", rig.dir.path("none.conf"), "--print-config"])
            #expect(missing.status == 0, "\(missing)")
            let empty = try rig.config("", name: "empty-snippet.conf")
            let unset = try runVMClockdRefusal(rig, ["--config", edited, "--check-chrony-snippet", empty, "--print-config"])
            #expect(unset.status == 0, "\(unset)")
        }

        // MARK: - the template the package ships

        /// `config-template` (= `run --print-config` with no file) is /etc/vmclockd.conf as packaged:
        /// every key of `run`'s options commented out at its default. Every one
        /// of them, uncommented, is read back as it was written.
        @Test func theTemplateListsEveryKeyAtItsDefaultAndReadsBack() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let template = try runVMClockd(["run", "--config", "none", "--print-config"])
            #expect(template.status == 0, "\(template)")
            let shipped = try runVMClockd(["config-template"])
            #expect(shipped.status == 0 && shipped.stdout == template.stdout, "config-template differs from run --print-config")
            let help = try runVMClockd(["run", "--help"]).stdout
            let commandOnly: Set = ["config", "print-config", "check-chrony-snippet"]
            let keys = help.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("  --") else { return nil }
                return String(line.dropFirst(4).prefix { $0 != " " })
            }.filter { !commandOnly.contains($0) }
            #expect(keys.count >= 17, "\(keys)")
            for key in keys {
                #expect(template.stdout.contains("\n#\(key) = "), "\(key) is not in the template")
            }

            let uncommented = template.stdout.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.hasPrefix("#") && !line.hasPrefix("# ") && !line.hasSuffix("<path>") ? line.dropFirst() : line
            }.joined(separator: "\n")
            let path = dir.path("every-key.conf")
            try writeFile(path, uncommented)
            let readBack = try runVMClockd(["chrony-config", "--config", path])
            #expect(readBack.status == 0 && readBack.stdout == Self.defaultLine + "\n", "\(readBack)")
            let shown = try runVMClockd(["run", "--config", path, "--print-config", "--max-error", "0.002"]).stdout
            for key in keys where key != "control-reply-socket" && key != "max-error" {
                #expect(shown.contains("# (set by \(path):"), "\(key)")
                #expect(shown.contains("\n\(key) = "), "\(key) is not shown as set")
            }
            #expect(shown.contains("# (set by --max-error)\nmax-error = 0.002\n"), "\(shown)")
        }
    }
}

private func inode(_ path: String) throws -> UInt64 {
    var info = stat()
    guard stat(path, &info) == 0 else { throw HarnessError("stat \(path)") }
    return UInt64(info.st_ino)
}
