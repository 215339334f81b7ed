import ClockBoundProtocol
import DaemonCore
import VMClockSystem

/// The snapshot as Prometheus text exposition (format 0.0.4), for
/// node_exporter's textfile collector: `vmclockd_` names, base units
/// (seconds) in the names, counters ending in `_total`, every label value
/// listed with 0 so a series never vanishes. README, "Metrics".
extension DaemonSnapshot {
    public var metricsText: String {
        var out = MetricsWriter()
        out.family("vmclockd_start_time_seconds", .gauge, "When the daemon started, seconds since the epoch.")
        out.sample("vmclockd_start_time_seconds", seconds(started.unixNanoseconds))
        out.family("vmclockd_state", .gauge, "1 for the daemon's state (only tracking feeds chronyd), 0 for the others.")
        for name in DaemonState.names { out.sample("vmclockd_state", ("state", name), state == name ? 1 : 0) }
        out.family("vmclockd_hold_reason", .gauge, "1 for the reason the daemon holds, 0 for the others (all 0 unless holding).")
        for kind in HoldReason.kinds { out.sample("vmclockd_hold_reason", ("reason", kind), reason == kind ? 1 : 0) }
        out.family("vmclockd_state_change_timestamp_seconds", .gauge, "When the daemon entered its state, seconds since the epoch.")
        out.sample("vmclockd_state_change_timestamp_seconds", seconds(since.unixNanoseconds))
        disruptionMetrics(&out)
        sampleMetrics(&out)
        chronydMetrics(&out)
        applicationMetrics(&out)
        out.family("vmclockd_notifications_in_use", .gauge, "1 if the daemon waits on the device's update notifications, 0 if it looks on a timer.")
        out.sample("vmclockd_notifications_in_use", notificationsInUse ? 1 : 0)
        out.family("vmclockd_maintenance_announced", .gauge, "1 while the page announces host maintenance (a disruption to come).")
        for flag in ["disruption_soon", "disruption_imminent"] {
            out.sample("vmclockd_maintenance_announced", ("flag", flag), maintenance.contains(flag) ? 1 : 0)
        }
        out.family("vmclockd_looks_total", .counter, "Looks at the vmclock page.")
        out.sample("vmclockd_looks_total", Double(looks))
        return out.text
    }

    /// Only while the segment is on: no series for a feature switched off.
    private func applicationMetrics(_ out: inout MetricsWriter) {
        guard let applications else { return }
        out.family("vmclockd_clockbound_status", .gauge, "1 for what ClockBound's segment tells applications (unknown, synchronized, free-running, disrupted), 0 for the others.")
        for status in SegmentStatus.allCases {
            out.sample("vmclockd_clockbound_status", ("status", status.description), applications.status == status.description ? 1 : 0)
        }
        out.family("vmclockd_clockbound_segment_writing", .gauge, "1 while the segment file is written, 0 while it cannot be (the log says why).")
        out.sample("vmclockd_clockbound_segment_writing", applications.problem == nil ? 1 : 0)
        if let bound = applications.boundNanoseconds {
            out.family("vmclockd_clockbound_bound_seconds", .gauge, "The bound on the clock's error last written to the segment (while it claims one).")
            out.sample("vmclockd_clockbound_bound_seconds", seconds(bound))
        }
    }

    private func disruptionMetrics(_ out: inout MetricsWriter) {
        out.family("vmclockd_disruptions_total", .counter, "Disruptions seen (migrations, snapshot restores, …), by kind.")
        for kind in DisruptionKind.allCases {
            out.sample("vmclockd_disruptions_total", ("kind", kind.name), Double(disruptions[kind.name] ?? 0))
        }
        out.family("vmclockd_host_steps_total", .counter, "Steps of the host's time beyond the error bounds it gave, under one disruption_marker (each resets chronyd).")
        out.sample("vmclockd_host_steps_total", Double(hostSteps))
        if let lastDisruption {
            out.family("vmclockd_last_disruption_timestamp_seconds", .gauge, "When the last disruption was seen, seconds since the epoch.")
            out.sample("vmclockd_last_disruption_timestamp_seconds", seconds(lastDisruption.at.unixNanoseconds))
        }
    }

    private func sampleMetrics(_ out: inout MetricsWriter) {
        out.family("vmclockd_samples_total", .counter, "Sample intervals by outcome: sent to chronyd, withheld (holding), unsent, dropped (socket full).")
        for (outcome, count) in [("sent", samples.sent), ("withheld", samples.withheldTotal), ("unsent", samples.unsent), ("dropped", samples.dropped)] {
            out.sample("vmclockd_samples_total", ("outcome", outcome), Double(count))
        }
        out.family("vmclockd_promised_max_error_seconds", .gauge, "The promise: no sample leaves with a larger bound (chronyd's precision for VMCK).")
        out.sample("vmclockd_promised_max_error_seconds", Double(promiseNanoseconds) / 1e9)
        guard let lastSample else { return }
        out.family("vmclockd_last_sample_offset_seconds", .gauge, "The last sample sent: vmclock UTC minus the system clock.")
        out.sample("vmclockd_last_sample_offset_seconds", Double(lastSample.offsetNanoseconds) / 1e9)
        out.family("vmclockd_last_sample_max_error_seconds", .gauge, "The last sample sent: its error bound, page and read.")
        out.sample("vmclockd_last_sample_max_error_seconds", Double(lastSample.boundNanoseconds) / 1e9)
        out.family("vmclockd_last_sample_timestamp_seconds", .gauge, "When the last sample was sent, seconds since the epoch.")
        out.sample("vmclockd_last_sample_timestamp_seconds", seconds(lastSample.at.unixNanoseconds))
    }

    private func chronydMetrics(_ out: inout MetricsWriter) {
        out.family("vmclockd_chronyd_reset_pending", .gauge, "1 while chronyd has not acknowledged the reset asked after a disruption or host step.")
        out.sample("vmclockd_chronyd_reset_pending", resetPending ? 1 : 0)
        out.family("vmclockd_chronyd_reset_failures_total", .counter, "Attempts at 'reset sources' that chronyd did not acknowledge.")
        out.sample("vmclockd_chronyd_reset_failures_total", Double(resetFailures))
        guard let chronyd else { return }
        out.family("vmclockd_chronyd_reachable", .gauge, "1 if chronyd answered the daemon's last question.")
        out.sample("vmclockd_chronyd_reachable", chronyd.unreachable == nil ? 1 : 0)
        out.family("vmclockd_chronyd_vmck_selected", .gauge, "1 if chronyd had selected VMCK as its reference when last asked.")
        out.sample("vmclockd_chronyd_vmck_selected", chronyd.vmck?.selected == true ? 1 : 0)
        guard let vmck = chronyd.vmck?.latest else { return }
        out.family("vmclockd_chronyd_vmck_offset_seconds", .gauge, "chronyd's latest measurement of VMCK's offset from the system clock.")
        out.sample("vmclockd_chronyd_vmck_offset_seconds", Double(vmck.offsetNanoseconds) / 1e9)
    }

    private func seconds(_ nanoseconds: Int64) -> Double { Double(nanoseconds) / 1e9 }
}

/// Lines of the text format, HELP and TYPE before each family's samples.
struct MetricsWriter {
    enum Kind: String { case gauge, counter }
    private(set) var text = ""

    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample; every family here has at most one label.
    mutating func sample(_ name: String, _ label: (name: String, value: String), _ value: Double) {
        text += "\(name){\(label.name)=\"\(Self.escape(label.value))\"} \(Self.format(value))\n"
    }

    mutating func sample(_ name: String, _ value: Double) {
        text += "\(name) \(Self.format(value))\n"
    }

    /// Go's ParseFloat reads Swift's shortest round-trip form ("1.5e-06");
    /// integral values print without a fraction.
    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
