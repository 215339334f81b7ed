#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A running `vmclock-sim PAGE SETTINGS…`: a separate process writing the
/// page. Commands go to its standard input; each is answered on its standard
/// output ("ok seq=… marker=…") once published.
public final class SimulatorProcess {
    public let pagePath: String
    private let child: Child
    /// The "ready …" line: the first page is published.
    public private(set) var readyLine = ""
    private var input: Int32
    private var output: Int32
    private let lines: LineReader

    public struct Failure: Error, CustomStringConvertible {
        public var line: String
        /// What it was answering; nil for the ready line.
        public var command: String?
        public var description: String {
            command.map { "vmclock-sim answered '\($0)' with: \(line)" } ?? "vmclock-sim said: \(line)"
        }
    }

    /// Returns once the first page is published. `binary`: the package's own
    /// build next to the running binary unless given; its standard error is
    /// ours unless given.
    public init(
        page: String, settings: [String] = [], binary: String = Products.simulator.path,
        stderr: Child.Stream = .inherited
    ) throws {
        pagePath = page
        let (inRead, inWrite) = try makePipe()
        let (outRead, outWrite) = try makePipe()
        defer {
            close(inRead)
            close(outWrite)
        }
        input = inWrite
        output = outRead
        lines = LineReader(descriptor: outRead)
        do {
            child = try Child(
                name: "vmclock-sim", arguments: [binary, page] + settings,
                stdin: .descriptor(inRead), stdout: .descriptor(outWrite), stderr: stderr)
        } catch {
            close(inWrite)
            close(outRead)
            throw error
        }
        readyLine = try lines.next(within: 10)
        guard readyLine.hasPrefix("ready ") else { throw Failure(line: readyLine) }
    }

    /// Sends one command and returns its "ok …" fields (marker, seq, …).
    @discardableResult
    public func send(_ command: String, within seconds: Double = 10) throws -> [String: String] {
        let bytes = Array((command + "\n").utf8)
        guard write(input, bytes, bytes.count) == bytes.count else { throw HarnessError("cannot write to vmclock-sim") }
        let reply = try lines.next(within: seconds)
        guard reply.hasPrefix("ok ") else { throw Failure(line: reply, command: command) }
        return Self.fields(reply)
    }

    /// key=value pairs of an acknowledgement or the ready line.
    public static func fields(_ line: String) -> [String: String] {
        var result: [String: String] = [:]
        for word in line.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    /// Ends the simulator by closing its input (it exits at end of input); by
    /// its pid if it lingers.
    public func stop() {
        if input >= 0 {
            close(input)
            input = -1
        }
        if !child.waitForExit(seconds: 5) { child.stop(signal: SIGKILL) }
        if output >= 0 {
            close(output)
            output = -1
        }
    }

    deinit { stop() }
}
