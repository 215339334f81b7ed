import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A running vmclock-sim: a separate process writing the page that the test
/// reads. Commands go to its standard input; each returns its acknowledgement.
final class SimulatorProcess {
    let pagePath: String
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lines: LineReader
    /// The "ready …" line: the first page is published.
    private(set) var readyLine = ""

    init(page: String, settings: [String] = []) throws {
        pagePath = page
        process.executableURL = Products.simulator
        process.arguments = [page] + settings
        process.standardInput = input
        process.standardOutput = output
        lines = LineReader(output.fileHandleForReading)
        try process.run()
        readyLine = try lines.next()
        guard readyLine.hasPrefix("ready ") else { throw Failure(line: readyLine) }
    }

    struct Failure: Error { var line: String }

    /// Sends one command and returns its "ok …" fields (marker, seq, …).
    @discardableResult
    func send(_ command: String) throws -> [String: String] {
        input.fileHandleForWriting.write(Data((command + "\n").utf8))
        let reply = try lines.next()
        guard reply.hasPrefix("ok ") else { throw Failure(line: reply) }
        return Self.fields(reply)
    }

    /// key=value pairs of an acknowledgement or the ready line.
    static func fields(_ line: String) -> [String: String] {
        var result: [String: String] = [:]
        for word in line.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    /// Ends the simulator by closing its input; by its pid if it lingers.
    func stop() {
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { if process.isRunning { stop() } }
}

/// Runs `vmclockd ARGS` to completion and returns its status and output.
func runVMClockd(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = Products.vmclockd
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}
