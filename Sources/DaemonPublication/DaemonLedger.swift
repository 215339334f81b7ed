import DaemonCore

/// The one ledger of what the daemon did: samples by outcome, holds by
/// reason, disruptions by kind, host steps, the last reset asked and its
/// acknowledgement, failed resets, chronyd's view of VMCK, looks. The loop
/// writes each event here once, as it happens; `status.json`, the metrics,
/// systemd's STATUS= and the journal's fields all read one `Record` of it.
/// Here, not in DaemonCore, because it keeps history for readers (moments
/// both ways, the published record types, "publish now"), which the state
/// machine's decisions never need. Pure: the loop hands it the moments.
package struct DaemonLedger {
    package typealias Moment = DaemonSnapshot.Moment

    /// The ledger as of one moment: a value no one but the ledger can
    /// change, so every reader of one copy sees the same counts. Counters
    /// only grow (Prometheus reads a decrease as a restart).
    package struct Record: Equatable, Sendable {
        package let started: Moment
        /// When the state began.
        package fileprivate(set) var since: Moment
        package fileprivate(set) var looks = 0
        package fileprivate(set) var samples = DaemonSnapshot.Samples()
        package fileprivate(set) var lastSample: DaemonSnapshot.Sample?
        package fileprivate(set) var disruptions: [String: Int] = [:]
        package fileprivate(set) var lastDisruption: DaemonSnapshot.Disruption?
        package fileprivate(set) var lastRestore: Moment?
        package fileprivate(set) var hostSteps = 0
        /// The last reset asked (after a disruption or a host step), and whether acknowledged.
        package fileprivate(set) var reset: DaemonSnapshot.Reset?
        package fileprivate(set) var resetFailures = 0
        package fileprivate(set) var chronyd: DaemonSnapshot.Chronyd?
        /// What the segment last told applications, and why.
        package fileprivate(set) var applicationsTold: ClockBoundVerdict.Reason?
    }

    /// What became of one sample interval.
    package enum SampleOutcome {
        /// chronyd's socket took it, at that moment.
        case sent(SampleBuilder.Built, at: Moment)
        /// Holding, for this reason (HoldReason.kind): no sample computed.
        case withheld(reason: String)
        /// Computed but not sent: the page changed under it, or chronyd's socket was away.
        case unsent
        /// Sent into a full socket and dropped by the kernel.
        case dropped
    }

    package private(set) var record: Record
    /// Something an operator would want to see at once changed since the
    /// last publication.
    package private(set) var changed = true

    package init(started: Moment) {
        record = Record(started: started, since: started)
    }

    package mutating func looked() { record.looks += 1 }

    package mutating func sample(_ outcome: SampleOutcome) {
        switch outcome {
        case .sent(let built, let moment):
            record.samples.sent += 1
            record.lastSample = .init(
                at: moment, offsetNanoseconds: Int64(clamping: built.offsetNanoseconds), boundNanoseconds: built.boundNanoseconds)
        case .withheld(let reason): record.samples.withheld[reason, default: 0] += 1
        case .unsent: record.samples.unsent += 1
        case .dropped: record.samples.dropped += 1
        }
    }

    /// A logged event: a change of state (of kind: what `since` means), a
    /// disruption or a host step (each asks reset `resetNumber`).
    package mutating func note(_ event: DaemonEvent, resetNumber: Int, at moment: Moment) {
        switch event {
        case .stateChanged:
            record.since = moment
            changed = true
        case .disruption(let kind, _, let marker, _, let whileAway):
            record.disruptions[kind.name, default: 0] += 1
            record.lastDisruption = .init(at: moment, kind: kind.name, marker: marker, whileAway: whileAway)
            if kind == .snapshotRestore { record.lastRestore = moment }
            record.reset = .init(disruption: resetNumber, requestedAt: moment, acknowledgedAt: nil)
            changed = true
        case .hostStep:
            record.hostSteps += 1
            record.reset = .init(disruption: resetNumber, requestedAt: moment, acknowledgedAt: nil)
            changed = true
        default: break
        }
    }

    /// chronyd acknowledged the reset for disruptions up to `disruption`.
    package mutating func resetAcknowledged(disruption: Int, at moment: Moment) {
        guard var reset = record.reset, reset.disruption <= disruption, reset.acknowledgedAt == nil else { return }
        reset.acknowledgedAt = moment
        record.reset = reset
        changed = true
    }

    package mutating func resetFailed() { record.resetFailures += 1 }

    package mutating func chronyd(_ view: DaemonSnapshot.Chronyd) {
        // The first answer since the state began is a change too: `wait`
        // trusts only an answer given since tracking began.
        let since = record.since.monotonicNanoseconds
        let firstSinceState = view.askedAt.monotonicNanoseconds >= since
            && (record.chronyd?.askedAt.monotonicNanoseconds ?? .min) < since
        if firstSinceState || Self.says(view) != record.chronyd.map(Self.says) { changed = true }
        record.chronyd = view
    }

    /// What `status` says of chronyd's view in words, leaving out the
    /// numbers that move with every answer: a change of it is published at
    /// once, so a reader is never shown an answer older than the question
    /// it could see (an offset or an age alone waits for the next refresh).
    private static func says(_ view: DaemonSnapshot.Chronyd) -> Said {
        Said(reachable: view.unreachable == nil, state: view.vmck?.state, hasSample: view.vmck?.latest != nil)
    }

    private struct Said: Equatable {
        var reachable: Bool
        var state: String?
        var hasSample: Bool
    }

    /// The segment was written for `reason` (which implies its status): a
    /// new one is published at once.
    package mutating func told(applications reason: ClockBoundVerdict.Reason) {
        guard reason != record.applicationsTold else { return }
        record.applicationsTold = reason
        changed = true
    }

    /// Published: what changed is out.
    package mutating func published() { changed = false }
}
