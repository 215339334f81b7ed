import ChronyProtocol

/// Keeps chronyd in step with what the state machine wants of it: a reset
/// after each disruption, acknowledged for certain; VMCK selectable only
/// while samples flow; a burst and a step check after a reset; and, least
/// of all, what chronyd says of VMCK, for the operator. Pure: it
/// picks the next request (one at a time) and turns each outcome into a
/// `ChronydAnswer`, which the link logs and the runner learns from. Every request that must happen is retried with
/// backoff for as long as it takes, across chronyd being down or restarting.
public struct ChronyDirector: Sendable {
    /// What the state machine wants now.
    public struct Wants: Equatable, Sendable {
        public var resetOwed: Int?
        public var selectable: Bool
        public var trackingReport: Bool
        /// Ask for chronyd's tracking report once a second anyway: what
        /// applications are told depends on it (ClockBound's segment).
        public var steadyTracking: Bool
        /// Ask chronyd about VMCK once a second (never while a reset is owed:
        /// the answer would describe the old host).
        public var sourceReport: Bool
        public init(resetOwed: Int?, selectable: Bool, trackingReport: Bool, steadyTracking: Bool = false, sourceReport: Bool = false) {
            self.resetOwed = resetOwed
            self.selectable = selectable
            self.trackingReport = trackingReport
            self.steadyTracking = steadyTracking
            self.sourceReport = sourceReport
        }

        /// Between two tracking reports, if any are wanted.
        var trackingEvery: Int64? {
            trackingReport ? ChronyDirector.trackingEveryNanoseconds : steadyTracking ? ChronyDirector.steadyTrackingEveryNanoseconds : nil
        }

        var asksVMCK: Bool { sourceReport && resetOwed == nil }
    }

    static let firstRetryNanoseconds: Int64 = 100_000_000
    static let retryLimitNanoseconds: Int64 = 5_000_000_000
    /// Backoff for a request that must succeed: 100 ms, doubling to 5 s.
    static let retry = Backoff(first: firstRetryNanoseconds, limit: retryLimitNanoseconds)
    static let trackingEveryNanoseconds: Int64 = 250_000_000
    static let steadyTrackingEveryNanoseconds: Int64 = 1_000_000_000
    public static let vmckEveryNanoseconds: Int64 = 1_000_000_000

    let refid: String
    private var inFlight: (command: ControlCommand, resetFor: Int?, sentAt: Int64)?
    private var reset = Self.retry
    private var selection = Self.retry
    /// The oldest disruption not yet covered by an acknowledged reset.
    private var oldestOwed: Int?
    /// What chronyd was last told (nil: unknown, e.g. just started).
    private var appliedSelectable: Bool?
    public private(set) var selectionSupported: Bool?
    private var queued: [ControlCommand] = []
    /// When the last tracking report was asked (monotonic), if ever.
    private var lastTracking: Int64?
    private var vmck: VMCKQuery

    public init(refid: String = DaemonConfiguration.refid) {
        self.refid = refid
        vmck = VMCKQuery(refid: refid)
        queued.reserveCapacity(4)
    }

    /// A request made once, after whatever must happen first (makestep).
    public mutating func enqueue(_ command: ControlCommand) { queued.append(command) }

    public var isIdle: Bool { inFlight == nil }

    /// The next request to send now, if any; at most one is in flight.
    public mutating func next(_ wants: Wants, now: Int64) -> ControlCommand? {
        guard inFlight == nil else { return nil }
        if !wants.asksVMCK { vmck.abandon() }
        if let owed = wants.resetOwed {
            if oldestOwed == nil { oldestOwed = owed }
            if !reset.isWaiting(now: now) { return send(.resetSources, resetFor: owed, now) }
        }
        if appliedSelectable != wants.selectable, !selection.isWaiting(now: now) {
            return send(.selectOptions(refid: refid, noselect: !wants.selectable), resetFor: nil, now)
        }
        if !queued.isEmpty, wants.resetOwed == nil || queued[0] == .reselect { return send(queued.removeFirst(), resetFor: nil, now) }
        if let every = wants.trackingEvery, now >= (lastTracking.map { $0 &+ every } ?? .min) {
            lastTracking = now
            return send(.tracking, resetFor: nil, now)
        }
        if wants.asksVMCK, let command = vmck.next(now: now) { return send(command, resetFor: nil, now) }
        return nil
    }

    /// The earliest time a retry falls due (for the loop's wait), if one
    /// waits. Tracking and a new round of the VMCK query ride on the looks
    /// (16 a second at the defaults): waking for them on their own would
    /// cost a wake-up a second for nothing a reader needs sooner.
    public func nextRetry(_ wants: Wants) -> Int64? {
        guard inFlight == nil else { return nil }
        let resetDue = wants.resetOwed != nil ? reset.retryAt ?? 0 : nil
        let selectionDue = appliedSelectable != wants.selectable ? selection.retryAt ?? 0 : nil
        // A round under way goes on at once.
        let vmckDue: Int64? = wants.asksVMCK && vmck.inRound ? 0 : nil
        return earliest(earliest(resetDue, selectionDue), vmckDue)
    }

    private func earliest(_ a: Int64?, _ b: Int64?) -> Int64? {
        guard let a, let b else { return a ?? b }
        return min(a, b)
    }

    private mutating func send(_ command: ControlCommand, resetFor: Int?, _ now: Int64) -> ControlCommand {
        inFlight = (command, resetFor, now)
        return command
    }

    /// Learns from the outcome of the request in flight: chronyd's answer,
    /// one at most, and no array for it: the loop allocates nothing in
    /// steady state.
    public mutating func completed(_ outcome: ControlOutcome, now: Int64) -> ChronydAnswer? {
        guard let (command, resetFor, sentAt) = inFlight else { return nil }
        inFlight = nil
        switch (command, outcome) {
        case (.sourceCount, _), (.sourceData, _):
            switch vmck.completed(command, outcome, now: now) {
            case nil: return nil
            case .source(let report): return .vmckSource(report, askedAt: sentAt)
            case .failed(let failure): return .vmckSourceFailed(failure, askedAt: sentAt)
            }
        case (.resetSources, .replied):
            let attempts = reset.succeeded()
            let first = oldestOwed ?? resetFor ?? 0
            oldestOwed = nil
            queued.insert(.burst, at: 0)  // fresh NTP measurements for the new host
            return .resetAcknowledged(first: first, last: resetFor ?? first, attempts: attempts)
        case (.resetSources, .failed(_, let failure)):
            return .resetFailed(disruption: resetFor ?? 0, attempts: reset.failed(now: now), failure: failure)
        case (.selectOptions(_, let noselect), .replied):
            appliedSelectable = !noselect
            selectionSupported = true
            selection.succeeded()
            // chronyd applies new options at its next selection, which a
            // silent refclock does not trigger: make it select now.
            queued.insert(.reselect, at: 0)
            return .selectionApplied(selectable: !noselect)
        case (.selectOptions(_, let noselect), .failed(_, .refused(_, .invalid))):
            // Nothing to apply on this chronyd; asked again on the next change.
            appliedSelectable = !noselect
            selection.succeeded()
            defer { selectionSupported = false }
            return selectionSupported == false ? nil : .selectionUnsupported
        case (.selectOptions, .failed(_, let failure)):
            selection.failed(now: now)
            return .selectionFailed(failure)
        case (.tracking, .replied(_, let reply)):
            return reply.tracking.map { .tracking($0, askedAt: sentAt) }
        case (_, .replied):
            return .done(command)
        case (_, .failed(_, let failure)):
            return .failed(command, failure)
        }
    }

    /// chronyd restarted or may have: what it was told is unknown again.
    public mutating func forgetSelection() { appliedSelectable = nil }
}
