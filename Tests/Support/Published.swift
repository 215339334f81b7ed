import Foundation
import PeerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Reading what the daemon publishes, independently of its own code.

/// `vmclockd status --json`'s "daemon" object, read with Foundation.
public struct PublishedView {
    public var running: Bool
    public var problem: String?
    public var state: PublishedState?

    public init(_ object: [String: Any]) {
        running = object["running"] as? Bool ?? false
        problem = object["problem"] as? String
        state = (object["state"] as? [String: Any]).map(PublishedState.init)
    }
}

public struct PublishedState {
    public struct Sample { public var at: Int, offset: Int, bound: Int }
    public struct Samples { public var sent: Int, withheld: Int, withheldByReason: [String: Int] }
    public struct Disruption { public var at: Int, kind: String, marker: UInt64?, whileAway: Bool }
    public struct Reset { public var disruption: Int, requested: Int, acknowledged: Bool, acknowledgedAt: Int? }
    public struct VMCK { public var state: String, selected: Bool, offset: Int, measuredOffset: Int, error: Int }
    public struct Chronyd { public var unreachable: String?, vmck: VMCK? }
    /// What the daemon says ClockBound's segment tells applications.
    public struct ClockBound { public var status: String, reason: String, bound: Int?, problem: String? }

    public var pid, started, since, published, promise: Int
    public var state, device: String
    public var reason, reasonText: String?
    public var disruptionMarker: UInt64?
    public var lastSample: Sample?
    public var samples: Samples
    public var disruptionsTotal: Int
    public var disruptionsByKind: [String: Int]
    public var lastDisruption: Disruption?
    public var lastRestore: Int?
    public var reset: Reset?
    public var resetFailures: Int
    public var hostSteps: Int
    public var chronyd: Chronyd?
    public var clockBound: ClockBound?
    public var looks: Int
    public var notificationsInUse: Bool?

    public init(_ o: [String: Any]) {
        // Schema 2 writes markers and ns timestamps as decimal strings.
        func unix(_ value: Any?) -> Int? { ((value as? [String: Any])?["unix_ns"] as? String).flatMap { Int($0) } }
        func marker(_ value: Any?) -> UInt64? { (value as? String).flatMap { UInt64($0) } }
        func int(_ value: Any?) -> Int { (value as? NSNumber)?.intValue ?? -1 }
        func object(_ value: Any?) -> [String: Any]? { value as? [String: Any] }
        pid = int(o["pid"])
        started = unix(o["started"]) ?? -1
        since = unix(o["since"]) ?? -1
        published = unix(o["published"]) ?? -1
        promise = int(o["promise_ns"])
        state = o["state"] as? String ?? "?"
        device = o["device"] as? String ?? "?"
        reason = o["reason"] as? String
        reasonText = o["reason_text"] as? String
        disruptionMarker = marker(o["disruption_marker"])
        lastSample = object(o["last_sample"]).map { Sample(at: unix($0["at"]) ?? -1, offset: int($0["offset_ns"]), bound: int($0["bound_ns"])) }
        let s = object(o["samples"]) ?? [:]
        samples = Samples(sent: int(s["sent"]), withheld: int(s["withheld"]),
                          withheldByReason: (s["withheld_by_reason"] as? [String: NSNumber] ?? [:]).mapValues(\.intValue))
        let d = object(o["disruptions"]) ?? [:]
        disruptionsTotal = int(d["total"])
        disruptionsByKind = (d["by_kind"] as? [String: NSNumber] ?? [:]).mapValues(\.intValue)
        lastDisruption = object(d["last"]).map {
            Disruption(at: unix($0["at"]) ?? -1, kind: $0["kind"] as? String ?? "?",
                       marker: marker($0["marker"]), whileAway: $0["while_away"] as? Bool ?? false)
        }
        lastRestore = unix(d["last_restore"])
        reset = object(o["reset"]).map {
            Reset(disruption: int($0["disruption"]), requested: unix($0["requested"]) ?? -1,
                  acknowledged: $0["acknowledged"] as? Bool ?? false, acknowledgedAt: unix($0["acknowledged_at"]))
        }
        chronyd = object(o["chronyd"]).map { c in
            Chronyd(unreachable: c["unreachable"] as? String, vmck: object(c["vmck"]).map {
                VMCK(state: $0["state"] as? String ?? "?", selected: $0["selected"] as? Bool ?? false,
                     offset: int($0["offset_ns"]), measuredOffset: int($0["measured_offset_ns"]), error: int($0["error_ns"]))
            })
        }
        clockBound = object(o["clockbound"]).map {
            ClockBound(status: $0["status"] as? String ?? "?", reason: $0["reason"] as? String ?? "?",
                       bound: ($0["bound_ns"] as? String).flatMap { Int($0) }, problem: $0["problem"] as? String)
        }
        resetFailures = int(o["reset_failures"])
        hostSteps = int(o["host_steps"])
        looks = int(o["looks"])
        notificationsInUse = o["notifications_in_use"] as? Bool
    }
}

/// `vmclockd status --json` for the rig's page and daemon, its "daemon" part.
public func status(_ rig: Rig) throws -> PublishedView? {
    let shown = try runVMClockd(["status", "--json", "--device", rig.simulator.pagePath, "--status-file", rig.daemon.statusFilePath])
    guard let document = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any],
          document["schema"] as? Int == 2, let daemon = document["daemon"] as? [String: Any] else { return nil }
    return PublishedView(daemon)
}

/// The first published view that satisfies `condition`, within 20 s.
public func published(_ rig: Rig, _ condition: (PublishedView) -> Bool) throws -> PublishedView? {
    var found: PublishedView?
    _ = try eventually(within: 20, every: 0.1) {
        guard let view = try status(rig), view.running, condition(view) else { return false }
        found = view
        return true
    }
    return found
}

/// The metrics file agrees with the status file written with it (the same
/// look count), read until both come from one publication.
public func metricsAgree(_ rig: Rig, _ state: String, sent: Int?) throws -> Bool {
    for _ in 0..<20 {
        let metrics = try parseMetrics(String(contentsOfFile: rig.daemon.metricsFilePath, encoding: .utf8))
        guard let view = try status(rig), let published = view.state else { continue }
        guard metrics["vmclockd_looks_total"] == Double(published.looks) else { continue }
        return metrics["vmclockd_state{state=\"\(state)\"}"] == 1
            && metrics["vmclockd_samples_total{outcome=\"sent\"}"] == Double(published.samples.sent)
            && metrics["vmclockd_samples_total{outcome=\"withheld\"}"] == Double(published.samples.withheld)
            && metrics["vmclockd_disruptions_total{kind=\"migration\"}"] == Double(published.disruptionsByKind["migration"] ?? 0)
    }
    return false
}

/// Prometheus's promtool, put there by `.ci/deps` (.ci/promtool).
public let promtoolPath = ProcessInfo.processInfo.environment["VMCLOCKD_PROMTOOL"] ?? "/var/cache/vmclockd-tests/promtool/promtool"

/// Sample lines of a text exposition: "name{labels}" → value.
public func parseMetrics(_ text: String) throws -> [String: Double] {
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let parts = line.split(separator: " ")
        try #require(parts.count == 2, "not a sample line: \(line)")
        values[String(parts[0])] = Double(parts[1])
    }
    return values
}
