#if canImport(Glibc)
import Glibc
#endif
import VMClockSystem

/// The PyPI ClockBound client (`clockbound`, pure Python, written by
/// neither this project nor AWS) reading a segment file: an application's
/// view of what vmclockd publishes. It runs with Debian 13's python3.13 in
/// the root `.ci/trixie-chrony` makes (the client needs Python 3.13; the
/// host has 3.11), by chroot, with the segment's directory bind-mounted at
/// the same path inside; `ClockBoundPythonDriver` is the script it runs.
public struct ClockBoundPythonClient {
    /// The pinned release `.ci/trixie-chrony` unpacks, and where.
    public static let version = "0.3.0"
    public static let clientDirectory = "/opt/vmclockd-tests/clockbound-\(version)"
    public static let pythonPath = "/usr/bin/python3.13"

    /// Root, chroot, and the root's python3.13 and client.
    public static func isAvailable(root: String = ChronyProcess.trixieRoot) -> Bool {
        geteuid() == 0 && access(ChronyProcess.chrootPath, X_OK) == 0 && access(root + pythonPath, X_OK) == 0
            && access(root + clientDirectory + "/clockbound/clockbound.py", R_OK) == 0
    }

    /// What the client's `Snapshot.as_dict()` held: each field as it parsed
    /// it (all unsigned: it reads every field so, the signed ones included).
    public struct Snapshot: Equatable, Sendable {
        public var magic1, magic2, segmentSize, version, generation: UInt64
        public var asOfSeconds, asOfNanoseconds, voidAfterSeconds, voidAfterNanoseconds: UInt64
        public var bound, disruptionMarker, maxDrift, clockStatus, disruptionSupport: UInt64
    }

    /// One read: `snapshot()` and `now()`, bracketed by the kernel clocks.
    public struct Read: Sendable {
        public var snapshot: Snapshot?
        /// The class of the error `snapshot()` raised (`ReadError`).
        public var snapshotError: String?
        public var earliest: Int128?
        public var latest: Int128?
        /// The class of the error `now()` raised (`ClockStatusError`, `TimeVoidedError`, …).
        public var nowError: String?
        public var realtimeBefore, monotonicBefore, realtimeAfter, monotonicAfter: Int128
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let directory: String
    public let root: String
    private let scriptPath: String

    /// The driver script, in the repository.
    public static let driverPath = Products.repository.appendingPathComponent("Tests/clockbound-driver/clockbound-read.py").path

    /// `directory` (absolute) holds the segments this client reads; the
    /// driver script is copied there (the root sees only that directory).
    public init(directory: String, root: String = ChronyProcess.trixieRoot) throws {
        (self.directory, self.root) = (directory, root)
        scriptPath = directory + "/clockbound-read.py"
        guard let script = readFile(Self.driverPath) else { throw Failure(description: "cannot read \(Self.driverPath)") }
        try writeFile(scriptPath, script)
    }

    /// `reads` reads of `segment` (a path inside `directory`).
    public func read(_ segment: String, reads: Int, timeout: Double = 60) throws -> [Read] {
        try run(segment, reads: reads, seconds: 0, timeout: timeout)
    }

    /// Reads of `segment` for `seconds`, back to back.
    public func read(_ segment: String, forSeconds seconds: Double) throws -> [Read] {
        try run(segment, reads: 0, seconds: seconds, timeout: seconds + 60)
    }

    private func run(_ segment: String, reads: Int, seconds: Double, timeout: Double) throws -> [Read] {
        let mount = try RootBindMount(directory: directory, root: root)
        let result = try withExtendedLifetime(mount) {
            try runProgram(
                [ChronyProcess.chrootPath, root, Self.pythonPath, "-I", scriptPath, Self.clientDirectory, segment,
                 String(reads), String(seconds)], timeout: timeout)
        }
        let lines = result.stdout.split(separator: "\n").map(String.init)
        if result.status == 3, let line = lines.first,
            let opened = try? JSONValue.Reader(JSONValue(parsing: line), at: "")
        {
            let errorClass = (try? opened.string("open_error")) ?? "?"
            throw Failure(description: "\(errorClass): \((try? opened.string("message")) ?? "")")
        }
        guard result.status == 0 else {
            throw Failure(description: "the driver exited \(result.status): \(result.stderr)")
        }
        do { return try lines.map(Self.parse) } catch { throw Failure(description: "\(error) in \(result.stdout)") }
    }

    static func parse(_ line: String) throws -> Read {
        let json = try JSONValue.Reader(JSONValue(parsing: line), at: "")
        return Read(
            snapshot: try json.optionalObject("snapshot").map(parseSnapshot),
            snapshotError: try json.optionalString("snapshot_error"),
            earliest: try json.optionalInteger("earliest"), latest: try json.optionalInteger("latest"),
            nowError: try json.optionalString("now_error"),
            realtimeBefore: try json.integer("realtime_before"), monotonicBefore: try json.integer("monotonic_before"),
            realtimeAfter: try json.integer("realtime_after"), monotonicAfter: try json.integer("monotonic_after"))
    }

    static func parseSnapshot(_ s: JSONValue.Reader) throws -> Snapshot {
        Snapshot(
            magic1: try s.integer("magic1"), magic2: try s.integer("magic2"), segmentSize: try s.integer("segment_size"),
            version: try s.integer("version"), generation: try s.integer("generation"),
            asOfSeconds: try s.integer("as_of_s"), asOfNanoseconds: try s.integer("as_of_ns"),
            voidAfterSeconds: try s.integer("void_after_s"), voidAfterNanoseconds: try s.integer("void_after_ns"),
            bound: try s.integer("bound"), disruptionMarker: try s.integer("disruption_marker"),
            maxDrift: try s.integer("max_drift"), clockStatus: try s.integer("clock_status"),
            disruptionSupport: try s.integer("disruption_support"))
    }
}
