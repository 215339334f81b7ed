import Foundation
import PeerHarness
import Testing

/// /etc/vmclockd.conf as an operator uses it, through the real binary:
/// defaults < the file < the command line, and every bad value refused with
/// the key, the value and what is allowed, exit 64, nothing started.
@Suite struct ConfigFile {
    /// chrony-config prints the refclock line from the same options `run` uses.
    static func line(_ dir: TemporaryDirectory, _ config: String?, _ arguments: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        var options = ["chrony-config"]
        if let config {
            try config.write(toFile: dir.path("vmclockd.conf"), atomically: true, encoding: .utf8)
            options += ["--config", dir.path("vmclockd.conf")]
        } else {
            options += ["--config", "none"]
        }
        return try runVMClockd(options + arguments)
    }

    @Test func theFileOverridesDefaultsAndTheCommandLineOverridesTheFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(try Self.line(dir, nil).stdout == "refclock SOCK /run/chrony/vmclock.sock refid VMCK poll -4 precision 0.001\n")
        let file = "# an operator's\nrefclock-socket = /run/x/vmclock.sock   # trailing comment\n\ninterval=1\nmax-error = 0.0002\n"
        #expect(try Self.line(dir, file).stdout == "refclock SOCK /run/x/vmclock.sock refid VMCK poll 0 precision 0.0002\n")
        #expect(try Self.line(dir, file, ["--max-error", "0.0005"]).stdout == "refclock SOCK /run/x/vmclock.sock refid VMCK poll 0 precision 0.0005\n")
        // The same file read by --write: the snippet chronyd reads holds the same line.
        let written = try Self.line(dir, file, ["--write", dir.path("snippet.conf")])
        #expect(written.status == 0)
        let snippet = try String(contentsOfFile: dir.path("snippet.conf"), encoding: .utf8)
        #expect(snippet.split(separator: "\n").filter { $0.hasPrefix("refclock") } == ["refclock SOCK /run/x/vmclock.sock refid VMCK poll 0 precision 0.0002"])
    }

    @Test func theShippedTemplateIsEveryKeyAtItsDefaultAndReadsAsTheDefaults() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let template = try runVMClockd(["config-template"]).stdout
        // Uncommented, every key of the template is accepted and changes nothing.
        let uncommented = template.split(separator: "\n").map { $0.hasPrefix("#") && $0.contains(" = ") && !$0.hasPrefix("# ") ? String($0.dropFirst()) : String($0) }
            .filter { !$0.hasSuffix("= ") }.joined(separator: "\n")
        #expect(try Self.line(dir, uncommented).stdout == Self.line(dir, nil).stdout, "\(uncommented)")
        let help = try runVMClockd(["run", "--help"]).stdout
        for key in uncommented.split(separator: "\n").compactMap({ $0.split(separator: " ").first }).filter({ !$0.hasPrefix("#") }) {
            #expect(help.contains("--\(key)"), "\(key) is not an option of run")
        }
    }

    @Test(arguments: [
        ("interval = 0.01", "interval = 0.01: must be at least 0.0625 and at most 16 (seconds)"),
        ("interval = 17", "interval = 17: must be at least 0.0625 and at most 16 (seconds)"),
        ("watch-interval = 0.0001", "watch-interval = 0.0001: must be at least 0.001 and at most 16 (seconds)"),
        ("max-error = 0", "max-error = 0: must be greater than 0 and at most 1 (seconds)"),
        ("max-error = 2", "max-error = 2: must be greater than 0 and at most 1 (seconds)"),
        ("max-error = soon", "max-error = soon: is not a number"),
        ("settle-time = -1", "settle-time = -1: must be at least 0 and at most 3600 (seconds)"),
        ("period-tolerance-ppm = 0", "period-tolerance-ppm = 0: must be greater than 0 and at most 100000 (ppm)"),
        ("step-threshold = 0", "step-threshold = 0: must be greater than 0 and at most 86400 (seconds)"),
        ("tai-offset-sign = up", "tai-offset-sign = up: is not one of auto, utc-minus-tai, tai-minus-utc"),
        ("allow-estimated-error = maybe", "allow-estimated-error = maybe: is not yes or no"),
        ("intervall = 1", "unknown key 'intervall'"),
        ("interval 1", "'interval 1' is not 'key = value'"),
        ("interval =", "interval = : needs a value"),
    ])
    func aBadValueInTheFileIsRefusedByKeyValueAndRangeAndNothingStarts(line: String, message: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = "# ok\nrefclock-socket = \(dir.path("vmclock.sock"))\n\(line)\n"
        try file.write(toFile: dir.path("vmclockd.conf"), atomically: true, encoding: .utf8)
        for command in ["chrony-config", "run"] {
            let result = try runVMClockd([command, "--config", dir.path("vmclockd.conf"), "--device", dir.path("none"),
                                          "--state-file", dir.path("identity"), "--status-file", dir.path("status.json"),
                                          "--metrics-file", dir.path("vmclockd.prom")], timeout: 10)
            #expect(result.status == 64, "\(command): \(result)")
            #expect(result.stderr.contains("\(dir.path("vmclockd.conf")):3: \(message)") || result.stderr.contains("\(dir.path("vmclockd.conf")):3: unknown key") || result.stderr.contains(":3: '"), "\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            for written in ["identity", "status.json", "vmclockd.prom"] {
                #expect(!FileManager.default.fileExists(atPath: dir.path(written)), "\(command) started and wrote \(written)")
            }
        }
    }

    @Test func badValuesOnTheCommandLineNameTheOptionAndCrossKeyChecksNameBoth() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let range = try Self.line(dir, nil, ["--max-error", "2"])
        #expect(range.status == 64 && range.stderr.contains("--max-error '2': must be greater than 0 and at most 1 (seconds)"), "\(range)")
        let cross = try Self.line(dir, "interval = 0.25\n", ["--watch-interval", "0.5"])
        #expect(cross.status == 64 && cross.stderr.contains("watch-interval 0.5 must be at most interval 0.25"), "\(cross)")
        let missing = try runVMClockd(["chrony-config", "--config", dir.path("absent.conf")])
        #expect(missing.status == 64 && missing.stderr.contains("cannot read the config file \(dir.path("absent.conf"))"), "\(missing)")
    }
}
