import Foundation
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One simulator, optionally a private chronyd and a relay, and a daemon
/// pointed at them. Built in that order; `stop()` ends them in reverse
/// (each also stops itself if released early, e.g. when a later start throws).
public final class Rig {
    public enum Chronyd { case none, noselect, selectable, later }

    public let dir: TemporaryDirectory
    public let interval: Double
    public let chronyDirectory: String
    public let refclockOptions: [String]
    public let simulator: SimulatorProcess
    public private(set) var chronyd: ChronyProcess?
    public let relay: RecordingRelay?
    public let daemon: DaemonProcess

    /// chronyd's sockets, as `ChronyProcess` lays them out, known before it starts.
    public var refclockPath: String { chronyDirectory + "/vmclock.sock" }
    public var commandPath: String { chronyDirectory + "/cmd/chronyd.sock" }

    public let flavor: ChronyFlavor

    /// The daemon's reply socket when the rig gives it one of its own
    /// (`ownReplySocket`), as the package does: in a directory any user
    /// can enter, unlike chronyd's.
    public var replySocketPath: String { dir.path("reply.sock") }

    /// `daemonControlSocketName`: the name in chronyd's command socket
    /// directory the daemon is told its socket has (another: a wrong path).
    public init(
        page settings: [String] = [], chronyd mode: Chronyd, relay withRelay: Bool, interval: Double = 0.25,
        options: [String] = [], flavor: ChronyFlavor = .debian12, ownReplySocket: Bool = false,
        daemonControlSocketName: String = "chronyd.sock", daemonPrefix: (_ pagePath: String) throws -> [String] = { _ in [] },
        chronydLines: [String] = []
    ) throws {
        self.flavor = flavor
        dir = try TemporaryDirectory()
        self.interval = interval
        chronyDirectory = dir.path("chrony")
        try FileManager.default.createDirectory(atPath: chronyDirectory, withIntermediateDirectories: false)
        refclockOptions = try Self.refclockOptions(interval: interval, selectable: mode == .selectable)
        simulator = try SimulatorProcess(page: dir.path("vmclock0"), settings: settings)
        switch mode {
        case .noselect, .selectable:
            chronyd = try ChronyProcess(directory: chronyDirectory, refclockOptions: refclockOptions, extraLines: chronydLines, flavor: flavor)
        case .none, .later: chronyd = nil
        }
        relay = withRelay ? try RecordingRelay(listeningAt: dir.path("relay.sock"), forwardingTo: mode == .none ? nil : chronyDirectory + "/vmclock.sock") : nil
        daemon = try DaemonProcess(
            device: simulator.pagePath, refclockSocket: relay?.path ?? chronyDirectory + "/vmclock.sock",
            controlSocket: chronyDirectory + "/cmd/" + daemonControlSocketName,
            options: ["--interval", "\(interval)"] + (ownReplySocket ? ["--control-reply-socket", dir.path("reply.sock")] : [])
                + options, logPath: dir.path("vmclockd.log"), prefix: daemonPrefix(simulator.pagePath))
    }

    /// Starts the chronyd of a `.later` rig.
    public func startChronyd() throws -> ChronyProcess {
        let started = try ChronyProcess(directory: chronyDirectory, refclockOptions: refclockOptions, flavor: flavor)
        chronyd = started
        return started
    }

    public func stop() {
        daemon.stop()
        relay?.stop()
        chronyd?.stop()
        simulator.stop()
        dir.remove()
    }

    /// For failure messages.
    public var report: String {
        "--- vmclockd \(daemon.arguments.dropFirst().joined(separator: " "))\n\(daemon.log)\n--- relay: \(relay.map { "\($0.count) datagrams" } ?? "none")"
    }

    /// The refclock line's options as `vmclockd chrony-config` prints them
    /// for this interval (poll so that each chronyd poll holds 4 samples,
    /// precision = the promise); they follow, and so override, the poll and
    /// precision `ChronyProcess` writes. `noselect` unless VMCK may be selected.
    public static func refclockOptions(interval: Double, selectable: Bool) throws -> [String] {
        let printed = try runVMClockd(["chrony-config", "--interval", "\(interval)", "--refclock-socket", "/x"])
        let words = printed.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        guard printed.status == 0, words.starts(with: ["refclock", "SOCK", "/x"]), words.count > 3 else {
            throw ChronyConfigFailure(output: printed.stdout + printed.stderr)
        }
        return [words.dropFirst(3).joined(separator: " ")] + (selectable ? [] : ["noselect"])
    }

    public struct ChronyConfigFailure: Error { public var output: String }
}
