import PeerHarness

// The soak's checks (Soak.swift's header says what each of (a)–(d) means):
// the invariants over what was recorded, the daemon's log lines and the
// relay's samples, against what was injected; and the checks' own test.

final class SoakChecks {
    struct Injected {
        var kind: SoakEvent
        var marker: String
        var published: Int64
        var offsetBefore: Int64
        var offsetAfter: Int64
        /// The daemon's disruption line, once seen.
        var line: Int64?
        var lines = 0
        var windowSamples = 0
        var windowLatest: Int64 = 0
    }

    struct Outage { var killed: Int64; var restarted: Int64? }

    /// The page's offset before the first disruption.
    let initialOffset: Int64
    /// Told of each violation as it is found (not while rehearsing): the check, the detail, how many of that check so far.
    let report: (String, String, Int) -> Void

    /// Every parsed log line so far.
    var lines: [LogLine] = []
    var transitions: [(stamp: Int64, to: String)] = []
    var disruptionLines: [Int64] = []
    var acks: [(stamp: Int64, range: ClosedRange<Int>)] = []
    var injected: [Injected] = []
    var outages: [Outage] = []
    var removals: [(removed: Int64, recreated: Int64?)] = []
    var deviceGone = 0

    // Samples: all kept (40 bytes each); checked in order up to a horizon.
    var samples: [SoakRelay.Record] = []
    var checked = 0
    var transitionIndex = 0
    var epochIndex = 0
    var unstamped = 0
    var notForwarded = 0

    var violations: [String: [String]] = [:]
    var rehearsing = false

    static let tolerance = 50_000.0  // ns: a sample's offset against its page's

    init(initialOffset: Int64, report: @escaping (String, String, Int) -> Void) {
        self.initialOffset = initialOffset
        self.report = report
    }

    func violation(_ check: String, _ detail: String) {
        violations[check, default: []].append(detail)
        if rehearsing { return }
        report(check, detail, violations[check]!.count)
    }

    var total: Int { violations.values.reduce(0) { $0 + $1.count } }

    /// Takes in the daemon's next log line; `offset` is the page's offset now.
    func take(_ line: LogLine, offset: Int64) {
        lines.append(line)
        if let to = line.stateReached { transitions.append((line.stamp, to)) }
        if let marker = line.disruptionMarker {
            disruptionLines.append(line.stamp)
            if marker.isEmpty {
                // "device gone or page invalid; marker N → ?": the daemon counts a vanished page as a
                // disruption. Caused by us only within a removal: from `remove` to 3 s after `recreate`.
                // No window (a2): the daemon notices a removal by stat(), once a second, and the old
                // page it still has mapped stays valid until then.
                if removals.contains(where: { line.stamp >= $0.removed && line.stamp <= ($0.recreated.map { $0 + 3_000_000_000 } ?? .max) }) {
                    injected.append(Injected(kind: .remove, marker: "?", published: line.stamp, offsetBefore: offset, offsetAfter: offset,
                                             line: line.stamp, lines: 1))
                    deviceGone += 1
                } else {
                    violation("c", "a 'device gone' disruption with no removal of the page: \(line.text)")
                }
            } else if let i = injected.lastIndex(where: { $0.marker == marker }) {
                injected[i].lines += 1
                if injected[i].lines == 1 { injected[i].line = line.stamp } else {
                    violation("c", "a second disruption line for marker \(marker): \(line.text)")
                }
            } else {
                violation("c", "a disruption line with no injected disruption: \(line.text)")
            }
        }
        if let range = line.acknowledged { acks.append((line.stamp, range)) }
    }

    // MARK: the checks on samples (a, b)

    /// Checks every sample queued before `horizon`, in order.
    func checkSamples(upTo horizon: Int64) {
        let sortedTransitions = transitions  // logged in stamp order by one thread
        while checked < samples.count, samples[checked].queued < horizon {
            let r = samples[checked]
            checked += 1
            if !r.forwarded { notForwarded += 1 }
            guard r.wellFormed else {
                violation("a", "malformed datagram queued at \(r.queued)")
                continue
            }
            guard r.kernelStamped else {
                unstamped += 1
                continue
            }
            let q = r.queued
            // (b)
            while transitionIndex < sortedTransitions.count, sortedTransitions[transitionIndex].stamp <= q - 1000 { transitionIndex += 1 }
            let current = transitionIndex > 0 ? sortedTransitions[transitionIndex - 1].to : "starting"
            if current != "tracking" {
                let justResumed = sortedTransitions[transitionIndex...].prefix { $0.stamp <= q }.contains { $0.to == "tracking" }
                if !justResumed { violation("b", "sample (tv \(r.tv)) queued at \(q) while the daemon was in \(current)") }
            }
            // (a1): the epoch is the last disruption whose line is certainly before the send.
            while epochIndex < injected.count, let line = injected[epochIndex].line, line + 1000 <= q { epochIndex += 1 }
            let expected = epochIndex > 0 ? injected[epochIndex - 1].offsetAfter : initialOffset
            if epochIndex > 0, let line = injected[epochIndex - 1].line, r.tv < line {
                violation("a1", "sample read at \(r.tv), before the daemon's disruption line (\(line)), queued at \(q) after it")
            }
            if abs(r.offsetNanoseconds - Double(expected)) > Self.tolerance {
                violation("a1", "sample queued at \(q) carries offset \(fixed(r.offsetNanoseconds, 0)) ns, its page's is \(expected) ns")
            }
            // (a2): the window between the publication and the daemon's line.
            if epochIndex < injected.count, injected[epochIndex].published <= q {
                injected[epochIndex].windowSamples += 1
                injected[epochIndex].windowLatest = max(injected[epochIndex].windowLatest, q - injected[epochIndex].published)
                if injected[epochIndex].windowSamples > 1 {
                    violation("a2", "a second sample queued at \(q) after disruption \(epochIndex + 1) was published (\(injected[epochIndex].published)) and before the daemon logged it")
                }
                if r.tv >= injected[epochIndex].published {
                    violation("a2", "sample queued at \(q) in disruption \(epochIndex + 1)'s window was read at \(r.tv), after the publication")
                }
            }
        }
    }

    // MARK: resets, errors, resources (at the end)

    /// (c): every injected disruption once, every number acknowledged exactly once, after its line.
    func checkResets() {
        for (i, d) in injected.enumerated() where d.lines == 0 {
            violation("c", "disruption \(i + 1) (\(d.kind.rawValue), marker \(d.marker)) never logged")
        }
        if disruptionLines.count != injected.count {
            violation("c", "\(disruptionLines.count) disruption lines for \(injected.count) injected disruptions")
        }
        var covered = [Int](repeating: 0, count: disruptionLines.count + 1)
        for ack in acks {
            for n in ack.range {
                guard n >= 1, n <= disruptionLines.count else {
                    violation("c", "acknowledgement for disruption \(n), which the daemon never logged")
                    continue
                }
                covered[n] += 1
                if ack.stamp < disruptionLines[n - 1] { violation("c", "disruption \(n) acknowledged before it was logged") }
            }
        }
        for n in 1..<covered.count where covered[n] != 1 {
            violation("c", "disruption \(n) acknowledged \(covered[n]) times")
        }
    }

    /// Errors: only failed chronyd requests during an outage, or makestep refused by chronyd -x.
    func checkErrors() -> (explained: Int, refusedSteps: Int, warnings: [String: Int]) {
        var explained = 0, refusedSteps = 0
        var warnings: [String: Int] = [:]
        for line in lines {
            if line.level == "warning" { warnings[String(line.message.prefix(40)), default: 0] += 1 }
            guard line.level == "error" || line.level == "critical" else { continue }
            let request = line.message.hasPrefix("chronyd has not acknowledged 'reset sources'") || line.message.hasPrefix("chronyd '")
            let inOutage = outages.contains { o in
                line.stamp >= o.killed && line.stamp <= (o.restarted.map { $0 + 10_000_000_000 } ?? .max)
            }
            // chronyd -x (the harness never lets it touch the clock) refuses `makestep`, which the daemon
            // asks for after a disruption when chronyd still has more than --step-threshold (0.5 s) to
            // correct: with -x it never corrects, so whenever the page is more than 0.5 s from the system clock.
            let truth = injected.last { ($0.line ?? .max) <= line.stamp }?.offsetAfter ?? initialOffset
            let refusedStep = line.message.hasPrefix("chronyd 'makestep' failed: chronyd refused 'makestep'") && abs(truth) > 500_000_000
            if request && inOutage { explained += 1 } else if refusedStep {
                explained += 1
                refusedSteps += 1
            } else { violation("errors", line.text) }
        }
        return (explained, refusedSteps, warnings)
    }

    /// VmRSS within 16 KiB, fds and threads equal; the VmRSS growth, KiB.
    func checkResources(baseline: (snapshot: ProcSnapshot, fds: Int), final: (snapshot: ProcSnapshot, fds: Int)) -> Int64 {
        let rssGrowth = final.snapshot.vmRSS - baseline.snapshot.vmRSS
        if rssGrowth > 16 { violation("resources", "VmRSS grew \(rssGrowth) KiB (\(baseline.snapshot.vmRSS) → \(final.snapshot.vmRSS))") }
        if final.fds != baseline.fds { violation("resources", "open fds \(baseline.fds) → \(final.fds)") }
        if final.snapshot.threads != baseline.snapshot.threads {
            violation("resources", "threads \(baseline.snapshot.threads) → \(final.snapshot.threads)")
        }
        return rssGrowth
    }

    // MARK: the checks' own test

    /// The checks must be able to fail: the recorded samples are checked again with one forged
    /// sample added, as a daemon with the bug would have sent it. (1) The last sample sent before a
    /// disruption with a step was published, replayed 5 ms after the daemon's disruption line: an
    /// old-page sample after the disruption, during the hold — (a1) and (b). (2) A sample with the
    /// right offset, read and sent 5 ms into a deliberate hold (a "→ holding/" line after
    /// tracking) — (b). Each must be caught; otherwise the soak fails ("self-check").
    func rehearse() -> [String] {
        let saved = (samples, checked, transitionIndex, epochIndex, injected, violations, unstamped, notForwarded)
        rehearsing = true
        var results: [String] = []
        var missed: [String] = []
        func trial(_ name: String, forged: SoakRelay.Record, expect: [String]) {
            var mutated = saved.0
            let at = mutated.firstIndex { $0.queued > forged.queued } ?? mutated.count
            mutated.insert(forged, at: at)
            samples = mutated
            (checked, transitionIndex, epochIndex) = (0, 0, 0)
            injected = saved.4.map { d in
                var d = d
                (d.windowSamples, d.windowLatest) = (0, 0)
                return d
            }
            violations = [:]
            checkSamples(upTo: .max)
            let caught = violations.keys.sorted()
            results.append("\(name): caught by \(caught.isEmpty ? "nothing" : caught.joined(separator: ", "))")
            if !expect.allSatisfy({ violations[$0] != nil }) { missed.append(name) }
        }
        // A disruption with a step, and the last sample sent before it was published (after the one before it).
        let candidates = saved.4.indices.compactMap { k -> (Int, SoakRelay.Record)? in
            let d = saved.4[k]
            guard d.offsetAfter != d.offsetBefore, d.marker != "?", d.line != nil else { return nil }
            let since = k > 0 ? (saved.4[k - 1].line ?? .max) : 0
            return saved.0.last(where: { $0.queued < d.published && $0.queued > since && $0.wellFormed && $0.kernelStamped }).map { (k, $0) }
        }
        if let (k, old) = candidates.dropFirst(candidates.count / 2).first {
            var forged = old
            forged.queued = saved.4[k].line! + 5_000_000
            trial("old-page sample replayed 5 ms after disruption \(k + 1)'s line", forged: forged, expect: ["a1", "b"])
        } else {
            missed.append("no disruption with a step to forge a sample for")
        }
        let holds = transitions.indices.dropFirst().filter { transitions[$0].to.hasPrefix("holding/") && transitions[$0 - 1].to == "tracking" }
        if let h = holds.dropFirst(holds.count / 2).first,
            let before = saved.0.last(where: { $0.queued < transitions[h].stamp && $0.wellFormed && $0.kernelStamped })
        {
            var forged = before
            forged.queued = transitions[h].stamp + 5_000_000
            forged.tv = transitions[h].stamp + 4_000_000
            trial("sample sent 5 ms into a hold (\(transitions[h].to))", forged: forged, expect: ["b"])
        } else {
            missed.append("no hold to forge a sample for")
        }
        (samples, checked, transitionIndex, epochIndex, injected, violations, unstamped, notForwarded) = saved
        rehearsing = false
        for name in missed { violation("self-check", "not caught: \(name)") }
        return results
    }
}

/// What the soak reads in the daemon's lines.
extension LogLine {
    /// "state A → B…": B ("tracking", "holding/status", …).
    var stateReached: String? {
        guard message.hasPrefix("state "), let rest = Self.after(message[...], "→ ") else { return nil }
        return String(rest.prefix { $0 != ":" && $0 != " " && $0 != ";" })
    }

    /// "disruption…: …; marker OLD → NEW…": NEW.
    var disruptionMarker: String? {
        guard message.hasPrefix("disruption"), let marker = Self.after(message[...], "marker "),
            let new = Self.after(marker, "→ ")
        else { return nil }
        return String(new.prefix { $0.isNumber })
    }

    /// What follows the first `needle` in `text`.
    static func after(_ text: Substring, _ needle: String) -> Substring? {
        let n = Array(needle.unicodeScalars)
        let scalars = text.unicodeScalars
        var i = scalars.startIndex
        while i != scalars.endIndex {
            var j = i, k = 0
            while k < n.count, j != scalars.endIndex, scalars[j] == n[k] {
                j = scalars.index(after: j)
                k += 1
            }
            if k == n.count { return Substring(scalars[j...]) }
            i = scalars.index(after: i)
        }
        return nil
    }

    /// "chronyd acknowledged 'reset sources' for disruption N" / "disruptions A–B".
    var acknowledged: ClosedRange<Int>? {
        let prefix = "chronyd acknowledged 'reset sources' for disruption"
        guard message.hasPrefix(prefix) else { return nil }
        let rest = message.dropFirst(prefix.count).drop { $0 == "s" || $0 == " " }
        let numbers = rest.prefix { $0.isNumber || $0 == "–" || $0 == "-" }.split { $0 == "–" || $0 == "-" }.compactMap { Int($0) }
        guard let first = numbers.first else { return nil }
        let last = numbers.count > 1 ? numbers[1] : first
        return first <= last ? first...last : nil
    }
}
