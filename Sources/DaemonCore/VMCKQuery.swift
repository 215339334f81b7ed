import ChronyProtocol

/// What chronyd says of VMCK, asked at the first look a second after the
/// last round, for the operator (never acted on). chronyd names sources
/// only by their index in its list, so the first round asks `n_sources`,
/// then `source_data i` from 0 until the refclock whose refid is VMCK;
/// later rounds ask that index alone, and search again when it holds
/// another source (chronyd restarted, sources added or removed). Pure, like
/// the director it is part of.
struct VMCKQuery: Sendable {
    /// What a round ends with.
    enum Answer: Equatable, Sendable {
        /// VMCK's report; nil when chronyd has no such refclock.
        case source(SourceReport?)
        case failed(ControlFailure)
    }

    let refid: String
    /// When the next round is due (monotonic ns).
    private(set) var due: Int64 = 0
    /// A round has begun and not ended: its next request goes out at once.
    private(set) var inRound = false
    /// Where VMCK was last found.
    private var index: Int32?
    /// During a search: how many sources chronyd said it has.
    private var count: Int32?

    init(refid: String) { self.refid = refid }

    /// The round's next request, if a round is due or under way.
    mutating func next(now: Int64) -> ControlCommand? {
        guard inRound || now >= due else { return nil }
        inRound = true
        return index.map { .sourceData(index: $0) } ?? .sourceCount
    }

    /// A reset became owed between two requests: the round's answers would
    /// mix the old host's sources with the new; the next round starts afresh.
    mutating func abandon() {
        if inRound { (inRound, count, index) = (false, nil, count == nil ? index : nil) }
    }

    /// Learns from a reply to one of this query's requests: the answer when
    /// it ends the round, nil while the round goes on.
    mutating func completed(_ command: ControlCommand, _ outcome: ControlOutcome, now: Int64) -> Answer? {
        switch (command, outcome) {
        case (.sourceCount, .replied(_, let reply)):
            guard let sources = reply.sourceCount else { return end(.failed(.malformedReply(command)), now) }
            guard sources > 0 else { return end(.source(nil), now) }
            // An index is an int32_t on the wire: a count past it is no list to walk.
            (count, index) = (Int32(clamping: sources), 0)
            return nil
        case (.sourceData(let asked), .replied(_, let reply)):
            if let source = reply.source, source.isRefclock(refid) {
                (count, index) = (nil, asked)
                return end(.source(source), now)
            }
            // RPY_NULL with success: chronyd 4.6 had no report for that index.
            guard reply.source != nil || reply.reply == 1 else { return end(.failed(.malformedReply(command)), now) }
            return notHere(asked, now)
        case (.sourceData(let asked), .failed(_, .refused(_, .noSuchSource))):
            // The list is shorter than when VMCK was found, or than the count.
            return notHere(asked, now, shorter: true)
        case (_, .failed(_, let failure)):
            return end(.failed(failure), now)
        default:
            return end(.failed(.malformedReply(command)), now)
        }
    }

    /// `asked` is not VMCK: a remembered index is searched from scratch, a
    /// search goes on to the next index, or ends when the list does.
    private mutating func notHere(_ asked: Int32, _ now: Int64, shorter: Bool = false) -> Answer? {
        guard let sources = count else {
            index = nil  // the next request of this round is n_sources
            return nil
        }
        guard !shorter, asked + 1 < sources else { return end(.source(nil), now) }
        index = asked + 1
        return nil
    }

    private mutating func end(_ answer: Answer, _ now: Int64) -> Answer {
        if count != nil { (count, index) = (nil, nil) }  // a search unfinished or in vain
        inRound = false
        due = now + ChronyDirector.vmckEveryNanoseconds
        return answer
    }
}
