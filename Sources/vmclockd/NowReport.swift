import ClockBoundProtocol
import VMClockSystem

/// `vmclockd now`'s answer: text, JSON and exit status from one read.
struct NowReport {
    let outcome: SegmentClient.Outcome
    let segment: String
    let device: String

    init(_ outcome: SegmentClient.Outcome, segment: String, device: String) {
        (self.outcome, self.segment, self.device) = (outcome, segment, device)
    }

    /// 0 synchronized, 3 free-running, 1 unknown/disrupted/no marker, 2 no segment.
    var exitStatus: Int32 {
        switch outcome {
        case .reading(let reading, _, _):
            switch reading.status {
            case .synchronized: 0
            case .freeRunning: 3
            case .unknown, .disrupted: 1
            }
        case .deviceUnreadable: 1
        case .segmentUnusable: 2
        }
    }

    /// The status a client reports, or why there is none.
    var statusText: String {
        switch outcome {
        case .reading(let reading, let body, let marker):
            if let marker, marker != body.disruptionMarker {
                return "\(reading.status) (the device's disruption marker \(marker) is not the segment's \(body.disruptionMarker): the VM moved since the bound was computed)"
            }
            return "\(reading.status)"
        case .deviceUnreadable(_, let reason):
            return "unknown (the segment asks clients to check the device's disruption marker, and \(reason))"
        case .segmentUnusable(let reason): return "no segment: \(reason)"
        }
    }

    var plainText: String {
        var lines = [row("segment", segment), row("status", statusText)]
        guard case .reading(let reading, let body, let marker) = outcome else { return lines.joined(separator: "\n") }
        lines.append(row("earliest", Self.civil(reading.earliestNanoseconds)))
        lines.append(row("latest", Self.civil(reading.latestNanoseconds)))
        lines.append(row("bound", "±\(reading.boundNanoseconds) ns (\(body.boundNanoseconds) ns at as_of, growing \(body.maxDriftPPB) ppb)"))
        let check = body.disruptionSupport
            ? marker.map { "\(device) says \($0)" } ?? "not read" : "not asked for by the segment"
        lines.append(row("disruption marker", "\(body.disruptionMarker) (device check: \(check))"))
        return lines.joined(separator: "\n")
    }

    var json: JSONValue {
        var members: [String: JSONValue] = [
            "segment": .string(segment), "device": .string(device), "status": .null, "earliest": .null,
            "latest": .null, "bound": .null, "segment_marker": .null, "device_marker": .null, "problem": .null,
        ]
        switch outcome {
        case .reading(let reading, let body, let marker):
            members["status"] = .string("\(reading.status)")
            members["earliest"] = .exact(reading.earliestNanoseconds)
            members["latest"] = .exact(reading.latestNanoseconds)
            members["bound"] = .exact(reading.boundNanoseconds)
            members["segment_marker"] = .exact(body.disruptionMarker)
            members["device_marker"] = .exact(marker)
            if reading.status != .synchronized { members["problem"] = .string(statusText) }
        case .deviceUnreadable(let body, _):
            members["status"] = .string("\(SegmentStatus.unknown)")
            members["segment_marker"] = .exact(body.disruptionMarker)
            members["problem"] = .string(statusText)
        case .segmentUnusable:
            members["problem"] = .string(statusText)
        }
        return .object(members)
    }

    /// "2026-12-07T06:50:01.123456789Z (1796…ns)"; an instant before the
    /// epoch (a wild bound) is shown in ns only.
    static func civil(_ nanoseconds: Int128) -> String {
        guard nanoseconds >= 0, let seconds = Int64(exactly: nanoseconds / 1_000_000_000) else { return "\(nanoseconds) ns" }
        return "\(CivilTime.iso8601(seconds: seconds, nanoseconds: Int64(nanoseconds % 1_000_000_000))) (\(nanoseconds) ns)"
    }
}
