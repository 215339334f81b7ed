import Foundation
import TestSupport
import PeerHarness
import Testing

extension LiveDevice {
    /// A wrong setting, in /etc/vmclockd.conf or on the command line, is
    /// refused the way an operator reads it: exit 64, one line naming the
    /// key, the value, what was allowed (and for the file its path and line),
    /// and nothing started (`ConfigRig.expectRefused`).
    @Suite struct ConfigRefusal {
        struct BadValue: CustomTestStringConvertible, Sendable {
            var key: String
            var value: String
            var requirement: String
            var testDescription: String { "\(key) = \(value)" }
        }

        static let badValues: [BadValue] = {
            let ranges: [(String, String, [String])] = [
                ("interval", "must be at least 0.0625 and at most 16 (seconds)", ["16.5", "0.01"]),
                ("watch-interval", "must be at least 0.001 and at most 16 (seconds)", ["17", "0.0001"]),
                ("max-error", "must be greater than 0 and at most 1 (seconds)", ["2", "0", "-0.001"]),
                ("settle-time", "must be at least 0 and at most 3600 (seconds)", ["3601", "-1"]),
                ("period-tolerance-ppm", "must be greater than 0 and at most 100000 (ppm)", ["100001", "0"]),
                ("step-threshold", "must be greater than 0 and at most 86400 (seconds)", ["86400.5", "0"]),
            ]
            return ranges.flatMap { key, requirement, outside in
                outside.map { BadValue(key: key, value: $0, requirement: requirement) }
                    + ["fast", "nan", "inf", "1ms"].map { BadValue(key: key, value: $0, requirement: "not a number; \(requirement)") }
            }
        }()

        @Test(arguments: badValues)
        func aNumberOutsideItsRangeOrNoNumberInTheFileIsRefused(_ bad: BadValue) throws {
            let rig = try ConfigRig()
            defer { rig.stop() }
            let path = try rig.config("# tighter than the default\n\n\(bad.key) = \(bad.value)\n")
            let result = try runVMClockdRefusal(rig, ["--config", path])
            rig.expectRefused(result, saying: "Error: \(path):3: \(bad.key) = \(bad.value): \(bad.requirement)")
        }

        @Test(arguments: badValues)
        func aNumberOutsideItsRangeOrNoNumberOnTheCommandLineIsRefused(_ bad: BadValue) throws {
            let rig = try ConfigRig()
            defer { rig.stop() }
            let result = try runVMClockdRefusal(rig, ["--config", "none", "--\(bad.key)", bad.value])
            rig.expectRefused(result, saying: "Error: --\(bad.key) \(bad.value): \(bad.requirement)")
        }

        struct BadFile: CustomTestStringConvertible, Sendable {
            var what: String
            var text: String
            /// `PATH` stands for the file's path.
            var message: String
            var testDescription: String { what }
        }

        static let badFiles: [BadFile] = [
            BadFile(what: "unknown key (a typo)", text: "max_error = 0.002\n",
                    message: "PATH:1: unknown key 'max_error'; the keys are: device, refclock-socket,"),
            BadFile(what: "a command-line-only option as a key", text: "config = /etc/other.conf\n",
                    message: "PATH:1: unknown key 'config'"),
            BadFile(what: "a line without '='", text: "device = /dev/vmclock0\nmax-error 0.002\n",
                    message: "PATH:2: 'max-error 0.002' is not a 'key = value' line"),
            BadFile(what: "no key before '='", text: "= 0.002\n", message: "PATH:1: '= 0.002' is not a 'key = value' line"),
            BadFile(what: "no value after '='", text: "max-error =\n", message: "PATH:1: max-error = (nothing): a value must follow '='"),
            BadFile(what: "a key twice", text: "max-error = 0.002\ninterval = 0.25\nmax-error = 0.003\n",
                    message: "PATH:3: max-error is already set on line 1"),
            BadFile(what: "a choice that is not one", text: "tai-offset-sign = sideways\n",
                    message: "PATH:1: tai-offset-sign = sideways: must be one of auto, utc-minus-tai, tai-minus-utc"),
            BadFile(what: "a log level that is not one", text: "log-level = loud\n",
                    message: "PATH:1: log-level = loud: must be one of trace, debug, info, notice, warning, error, critical"),
            BadFile(what: "a flag that is not yes or no", text: "allow-estimated-error = maybe\n",
                    message: "PATH:1: allow-estimated-error = maybe: must be yes or no"),
            BadFile(what: "the other flag too", text: "no-step = true\n", message: "PATH:1: no-step = true: must be yes or no"),
        ]

        @Test(arguments: badFiles)
        func aFileThatIsNotAConfigurationIsRefusedNamingTheLine(_ bad: BadFile) throws {
            let rig = try ConfigRig()
            defer { rig.stop() }
            let path = try rig.config(bad.text)
            let message = "Error: " + bad.message.replacingOccurrences(of: "PATH", with: path)
            rig.expectRefused(try runVMClockdRefusal(rig, ["--config", path]), saying: message)
            // chrony-config reads the same file the same way.
            let printed = try runVMClockd(["chrony-config", "--config", path])
            #expect(printed.status == 64 && printed.stderr.contains(message), "\(printed)")
            #expect(printed.stdout.isEmpty, "a refclock line from a refused file: \(printed.stdout)")
        }

        @Test func aMissingFileNamedExplicitlyIsRefused() throws {
            let rig = try ConfigRig()
            defer { rig.stop() }
            let path = rig.dir.path("no-such.conf")
            rig.expectRefused(try runVMClockdRefusal(rig, ["--config", path]),
                              saying: "Error: \(path): cannot read the configuration file: No such file or directory")
            let directory = rig.dir.path("a-directory.conf")
            try makeDirectory(directory)
            rig.expectRefused(try runVMClockdRefusal(rig, ["--config", directory]),
                              saying: "Error: \(directory): cannot read the configuration file: Is a directory")
        }

        @Test func aWatchIntervalLongerThanTheIntervalNamesBothKeysAndWhereEachCameFrom() throws {
            let rig = try ConfigRig()
            defer { rig.stop() }
            let path = try rig.config("interval = 0.25\nwatch-interval = 0.5\n")
            rig.expectRefused(try runVMClockdRefusal(rig, ["--config", path]),
                              saying: "Error: watch-interval = 0.5 (\(path):2) must be at most interval = 0.25 (\(path):1)")
            // The command line's interval is the one compared, and named so.
            rig.expectRefused(try runVMClockdRefusal(rig, ["--config", path, "--interval", "0.125"]),
                              saying: "Error: watch-interval = 0.5 (\(path):2) must be at most interval = 0.125 (--interval)")
            rig.expectRefused(try runVMClockdRefusal(rig, ["--config", "none", "--watch-interval", "0.5"]),
                              saying: "Error: watch-interval = 0.5 (--watch-interval) must be at most interval = 0.0625 (default)")
        }
    }
}
