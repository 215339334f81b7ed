/// Which page identity chronyd's history belongs to, and when a page shows
/// another: a disruption. It starts from the identity an earlier run left,
/// if any, and compares the page that comes back after a loss with the one
/// before it.
struct IdentityWatch: Sendable {
    /// A disruption seen: the identity before and after it (nil: the page went away).
    struct Change: Equatable, Sendable {
        var kind: DisruptionKind
        var old: PageIdentity
        var new: PageIdentity?
        /// Found at start against what an earlier run left.
        var whileAway: Bool
    }

    private(set) var identity: PageIdentity?
    /// `identity` came from an earlier run of the daemon, not from a page.
    private var fromBefore: Bool
    /// The page went away after `identity` was seen (a disruption said once).
    private(set) var lost = false

    init(remembered: PageIdentity?) {
        identity = remembered
        fromBefore = remembered != nil
    }

    /// A consistent page with identity `current`.
    mutating func saw(_ current: PageIdentity) -> Change? {
        defer { (identity, fromBefore, lost) = (current, false, false) }
        // Back after being lost with the same identity: handled when it went away.
        guard let identity, let kind = current.disruption(since: identity) else { return nil }
        return Change(kind: kind, old: identity, new: current, whileAway: fromBefore)
    }

    /// The device went away or its page broke: whatever comes back may be
    /// another host's.
    mutating func lostPage() -> Change? {
        // At start, a device not there yet says nothing of the one before.
        guard !lost, !fromBefore, let identity else { return nil }
        lost = true
        return Change(kind: .deviceGone, old: identity, new: nil, whileAway: false)
    }
}
