import Foundation
import TestSupport
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Everything a started `vmclockd run` would touch, under one temporary
/// directory, so a test can tell that a refused configuration started
/// nothing: a live simulated page (a started daemon would read it and send
/// samples), a socket of the test's own where chronyd's refclock socket would
/// be, and the state, status, metrics and reply-socket paths, which must stay
/// absent.
struct ConfigRig {
    let dir: TemporaryDirectory
    let simulator: SimulatorProcess
    let refclock: DatagramInbox

    var statePath: String { dir.path("page-identity") }
    var statusPath: String { dir.path("status.json") }
    var metricsPath: String { dir.path("vmclockd.prom") }
    var replyPath: String { dir.path("reply.sock") }

    init() throws {
        dir = try TemporaryDirectory()
        simulator = try SimulatorProcess(page: dir.path("vmclock0"))
        refclock = try DatagramInbox(path: dir.path("refclock.sock"))
    }

    func stop() {
        simulator.stop()
        refclock.close()
        dir.remove()
    }

    /// `run`'s options that point everything it would touch into the rig.
    var paths: [String] {
        ["--device", simulator.pagePath, "--refclock-socket", refclock.path, "--control-socket", dir.path("chronyd.sock"),
         "--control-reply-socket", replyPath, "--state-file", statePath, "--status-file", statusPath,
         "--metrics-file", metricsPath, "--clockbound-segment", dir.path("clockbound/shm0")]
    }

    /// Writes a config file into the rig; its path.
    func config(_ text: String, name: String = "vmclockd.conf") throws -> String {
        let path = dir.path(name)
        try writeFile(path, text)
        return path
    }

    /// Exit status 64, `message` in what it said, and nothing started: no log
    /// line, no file written, no socket bound, no sample sent.
    func expectRefused(_ result: (status: Int32, stdout: String, stderr: String), saying message: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 64, "exit \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "expected '\(message)' in: \(result.stderr)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.first?.hasPrefix("Error: ") == true && lines.count <= 3, "more than the error: \(result.stderr)",
                sourceLocation: sourceLocation)
        #expect(!result.stderr.contains("started:"), sourceLocation: sourceLocation)
        for path in [statePath, statusPath, metricsPath, replyPath] {
            #expect(!fileExists(path), "\(path) exists: something was started", sourceLocation: sourceLocation)
        }
        #expect(refclock.queued() == 0, "samples reached the refclock socket", sourceLocation: sourceLocation)
    }
}

/// A Unix datagram socket of the test's own at `path`. What a process sent
/// to it before it exited is queued here by then, so `queued()` after the
/// sender's exit is every datagram it ever sent: no waiting involved.
final class DatagramInbox {
    let path: String
    private var descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = try boundDatagramSocket(path)
    }

    /// Takes every datagram queued now, without waiting; how many there were.
    func queued() -> Int {
        var count = 0
        var buffer = [UInt8](repeating: 0, count: 512)
        while recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT)) >= 0 { count += 1 }
        return count
    }

    /// Waits up to `seconds` for one datagram; true if one came.
    func receive(within seconds: Double) -> Bool {
        var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, Int32(seconds * 1000)) > 0 && queued() > 0
    }

    func close() {
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)
        descriptor = -1
        unlink(path)
    }

    deinit { close() }
}

/// `vmclockd run …` as the tests start it: the rig's paths, then `arguments`.
func runVMClockdRefusal(_ rig: ConfigRig, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    // A daemon that wrongly starts runs until stopped: the timeout ends it
    // and the rig's checks then fail on what it did.
    try runVMClockd(["run"] + rig.paths + arguments, timeout: 5)
}
