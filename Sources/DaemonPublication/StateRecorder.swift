import DaemonCore
import VMClockSystem

/// What the daemon did, as the published state tells it: when the state
/// began, the last sample, disruptions, resets, chronyd's view of VMCK.
/// Fed by the runner as things happen; pure.
package struct StateRecorder {
    package typealias Moment = DaemonSnapshot.Moment
    package let started: Moment
    package private(set) var since: Moment
    package private(set) var lastSample: DaemonSnapshot.Sample?
    package private(set) var withheldByReason: [String: Int] = [:]
    package private(set) var disruptions: [String: Int] = [:]
    package private(set) var lastDisruption: DaemonSnapshot.Disruption?
    package private(set) var lastRestore: Moment?
    package private(set) var reset: DaemonSnapshot.Reset?
    package private(set) var resetFailures = 0
    package private(set) var hostSteps = 0
    package private(set) var chronyd: DaemonSnapshot.Chronyd?
    /// Something an operator would want to see at once changed.
    package private(set) var changed = true

    package init(started: Moment) {
        self.started = started
        since = started
    }

    /// A logged event: a change of state (of kind: what `since` means), a
    /// disruption or a host step (each asks reset `resetNumber`).
    package mutating func note(_ event: DaemonEvent, resetNumber: Int, at moment: Moment) {
        switch event {
        case .stateChanged:
            since = moment
            changed = true
        case .disruption(let kind, _, let marker, _, let whileAway):
            disruptions[kind.name, default: 0] += 1
            lastDisruption = .init(at: moment, kind: kind.name, marker: marker, whileAway: whileAway)
            if kind == .snapshotRestore { lastRestore = moment }
            reset = .init(disruption: resetNumber, requestedAt: moment, acknowledgedAt: nil)
            changed = true
        case .hostStep:
            hostSteps += 1
            reset = .init(disruption: resetNumber, requestedAt: moment, acknowledgedAt: nil)
            changed = true
        default: break
        }
    }

    package mutating func withheld(reason: String) { withheldByReason[reason, default: 0] += 1 }

    package mutating func sent(_ built: SampleBuilder.Built, at moment: Moment) {
        lastSample = .init(at: moment, offsetNanoseconds: Int64(clamping: built.offsetNanoseconds), boundNanoseconds: built.boundNanoseconds)
    }

    /// chronyd acknowledged the reset for disruptions up to `disruption`.
    package mutating func resetAcknowledged(disruption: Int, at moment: Moment) {
        guard var reset, reset.disruption <= disruption, reset.acknowledgedAt == nil else { return }
        reset.acknowledgedAt = moment
        self.reset = reset
        changed = true
    }

    package mutating func resetFailed() { resetFailures += 1 }

    package mutating func chronyd(_ view: DaemonSnapshot.Chronyd) {
        // The first answer since the state began is a change too: `wait`
        // trusts only an answer given since tracking began.
        let firstSinceState = view.askedAt.monotonicNanoseconds >= since.monotonicNanoseconds
            && (chronyd?.askedAt.monotonicNanoseconds ?? .min) < since.monotonicNanoseconds
        if firstSinceState || Self.says(view) != chronyd.map(Self.says) { changed = true }
        chronyd = view
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

    /// Published: what changed is out.
    package mutating func published() { changed = false }
}
