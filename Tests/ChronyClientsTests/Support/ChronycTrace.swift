import Foundation
import TestSupport
import PeerHarness
import SystemPackage
import Testing

@testable import ChronyClients

#if canImport(Glibc)
import Glibc
#endif

/// One chronyc command run under `strace -f -xx -s 1024 -e trace=sendto,recvfrom`:
/// the exact datagrams chronyc sent to chronyd and received back.
struct ChronycTrace {
    static let stracePath = "/usr/bin/strace"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: stracePath) }

    var requests: [[UInt8]] = []
    var replies: [[UInt8]] = []
    var stdout: String
    var log: String

    init(_ chronyd: ChronyProcess, _ arguments: [String], in dir: TemporaryDirectory) throws {
        let traceFile = dir.path("chronyc.strace")
        let result = try runProgram(
            [Self.stracePath, "-f", "-xx", "-s", "1024", "-e", "trace=sendto,recvfrom", "-o", traceFile, ChronyProcess.chronycPath]
                + ["-h", chronyd.commandPath, "-n", "-c"] + arguments,
            timeout: 10)
        stdout = result.stdout
        log = (try? String(contentsOfFile: traceFile, encoding: .utf8)) ?? result.stderr
        for line in log.split(separator: "\n") {
            // e.g. `1234 sendto(3, "\x06\x01…", 28, 0, NULL, 0) = 28`
            let isSend = line.contains("sendto(")
            guard isSend || line.contains("recvfrom("), let open = line.firstIndex(of: "\"") else { continue }
            let rest = line[line.index(after: open)...]
            guard let close = rest.firstIndex(of: "\"") else { continue }
            let bytes = rest[..<close].split(separator: "\\x", omittingEmptySubsequences: true).compactMap { UInt8($0, radix: 16) }
            guard bytes.count >= 2, bytes[0] == 6 else { continue }
            if isSend && bytes[1] == 1 { requests.append(bytes) }
            if !isSend && bytes[1] == 2 { replies.append(bytes) }
        }
    }
}
