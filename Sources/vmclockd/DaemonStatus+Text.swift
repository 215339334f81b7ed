import DaemonPublication

extension DaemonStatus {
    func textLines() -> [String] {
        guard let s = snapshot, running else { return [row("daemon", problem ?? "not running")] }
        var lines = [
            row("daemon", "\(s.state)" + (s.reason.map { "/\($0)" } ?? "") + " since \(when(s.since)) (pid \(s.pid))")
        ]
        if let text = s.reasonText { lines.append(row("  why", text + (s.resetBlocker.map { ": \($0)" } ?? ""))) }
        lines.append(row("  last sample", s.lastSample.map {
            "offset \(signed($0.offsetNanoseconds)) ns, bound \($0.boundNanoseconds) ns (promise \(s.promiseNanoseconds) ns), \(seconds(age($0.at))) ago"
        } ?? "none sent"))
        let withheld = s.samples.withheld.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append(row("  samples", "\(s.samples.sent) sent, \(s.samples.withheldTotal) withheld"
                         + (withheld.isEmpty ? "" : " (\(withheld))") + ", \(s.samples.unsent) unsent, \(s.samples.dropped) dropped"))
        lines.append(row("  disruptions", "\(s.disruptionsTotal)" + (s.lastDisruption.map {
            ", last: \($0.kind)\($0.whileAway ? " while not running" : "") at \(when($0.at))" + ($0.marker.map { ", marker now \($0)" } ?? "")
        } ?? "")))
        lines.append(row("  snapshot restores", "\(s.disruptions["snapshot-restore"] ?? 0)" + (s.lastRestore.map { ", last at \(when($0))" } ?? "")))
        if s.hostSteps > 0 { lines.append(row("  host steps", "\(s.hostSteps) beyond the host's own bounds (each reset chronyd)")) }
        lines.append(row("  last reset", resetText(s)))
        lines.append(row("  chronyd", chronydText(s)))
        if let a = s.applications { lines.append(row("  applications", applicationsText(a))) }
        lines.append(row("  notifications", s.notificationsInUse ? "in use (the device wakes the daemon)" : "not in use (looks on a timer)"))
        lines.append(row("  maintenance", s.maintenance.isEmpty ? "none announced" : s.maintenance.joined(separator: ", ")))
        lines.append(row("  published", "\(seconds(age(s.published))) ago"))
        return lines
    }

    private func resetText(_ s: DaemonSnapshot) -> String {
        guard let reset = s.reset else { return "none asked (no disruption or host step since start)" }
        let asked = "number \(reset.disruption), asked at \(when(reset.requestedAt))"
        guard let acknowledged = reset.acknowledgedAt else {
            return asked + ": NOT acknowledged yet" + (s.resetFailures > 0 ? " (\(s.resetFailures) failed attempts)" : "")
        }
        return asked + ": acknowledged at \(when(acknowledged))"
    }

    /// What ClockBound's segment tells applications: "synchronized ±12 µs
    /// (measured …), /run/clockbound/shm0".
    private func applicationsText(_ a: DaemonSnapshot.Applications) -> String {
        let bound = a.boundNanoseconds.map { " ±\($0) ns" } ?? ""
        let problem = a.problem.map { "; not written: \($0)" } ?? ""
        return "\(a.status)\(bound) (\(a.reason): \(a.reasonText)), \(a.segment)\(problem)"
    }

    private func chronydText(_ s: DaemonSnapshot) -> String {
        guard let chronyd = s.chronyd else { return "not asked yet" }
        let asked = " (asked \(seconds(age(chronyd.askedAt))) ago)"
        if let why = chronyd.unreachable { return "unreachable: \(why)" + asked }
        guard let vmck = chronyd.vmck else { return "has no VMCK source (is the refclock line in chrony.conf? see 'vmclockd chrony-config')" + asked }
        guard let latest = vmck.latest else { return "VMCK \(vmck.state), no sample of it yet" + asked }
        return "VMCK \(vmck.state), offset \(signed(latest.offsetNanoseconds)) ns ± \(latest.errorNanoseconds) ns, sample \(latest.ageSeconds) s old" + asked
    }

    private func when(_ moment: DaemonSnapshot.Moment) -> String {
        let seconds = moment.unixNanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        return CivilTime.iso8601(seconds: seconds.quotient, nanoseconds: seconds.remainder)
            + " (\(self.seconds(age(moment))) ago)"
    }

    private func seconds(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10)) s"
    }

    private func signed(_ value: Int64) -> String { value >= 0 ? "+\(value)" : "\(value)" }
}
