import ChronyClients
import ChronyProtocol
import ErrorNumbers
import SystemPackage
import TestSupport
import Testing
import DaemonCore
import VMClockSystem

/// The director's question "what does chronyd say of VMCK?", against a
/// scripted chronyd: which requests it sends, in what order, when, and what
/// it concludes. Time is the `now` handed in; nothing sleeps.
@Suite struct VMCKQueryTests {
    typealias Wants = ChronyDirector.Wants
    typealias Event = ChronyDirector.Event
    static let second = ChronyDirector.vmckEveryNanoseconds
    static let asking = Wants(resetOwed: nil, selectable: true, trackingReport: false, sourceReport: true)
    static let vmck: UInt32 = 0x564D_434B
    static let gps: UInt32 = 0x4750_5300
    static let down = ControlFailure.unreachable(path: "/run/chrony/chronyd.sock", ErrorNumber(Errno.connectionRefused))

    /// chronyd's sources in its order; `unreportable`: indices 4.6 answers
    /// with RPY_NULL (it has the source but no report for it).
    struct Chronyd {
        var sources: [(address: UInt32, mode: UInt16)]
        var unreportable: Set<Int32> = []
        var failure: ControlFailure?

        func answer(_ command: ControlCommand) -> ControlOutcome {
            typealias M = ChronyReplyBytes
            if let failure { return .failed(command, failure) }
            switch command {
            case .sourceCount:
                return .replied(command, ControlReply(bytes: M.reply(command: 14, type: 2, data: M.be(UInt32(sources.count))))!)
            case .sourceData(let index):
                guard index >= 0, index < sources.count else { return .failed(command, .refused(command, .noSuchSource)) }
                if unreportable.contains(index) { return .replied(command, ControlReply(bytes: M.reply(command: 15, type: 1, data: []))!) }
                let source = sources[Int(index)]
                let data = M.sourceData(address: source.address, state: 0, mode: source.mode, original: M.original,
                                        latest: M.latest, error: M.error)
                return .replied(command, ControlReply(bytes: M.reply(command: 15, type: 3, data: data))!)
            default:
                return .replied(command, ControlReply(bytes: M.reply(command: command.code, type: 1, data: []))!)
            }
        }
    }

    /// Everything the director sends at `now`, each answered at once; up to
    /// an acknowledged reset, which changes the wants (the core takes it).
    static func exchange(_ director: inout ChronyDirector, _ wants: Wants = asking, now: Int64, _ chronyd: Chronyd)
        -> (sent: [ControlCommand], events: [Event])
    {
        var sent: [ControlCommand] = []
        var events: [Event] = []
        while let command = director.next(wants, now: now) {
            sent.append(command)
            guard let event = director.completed(chronyd.answer(command), now: now) else { continue }
            events.append(event)
            if case .resetAcknowledged = event { break }
        }
        return (sent, events)
    }

    /// A director that has told chronyd VMCK is selectable (selectopts,
    /// reselect): what it sends from then on is the VMCK query alone.
    static func settled() -> ChronyDirector {
        var director = ChronyDirector()
        let sent = exchange(&director, Wants(resetOwed: nil, selectable: true, trackingReport: false), now: 0, three).sent
        precondition(sent == [.selectOptions(refid: "VMCK", noselect: false), .reselect])
        return director
    }

    /// The refid of each VMCK report among the events; nil for "no VMCK".
    static func found(_ events: [Event]) -> [UInt32?] {
        events.compactMap { event -> UInt32?? in
            guard case .vmckSource(let report, _) = event else { return .none }
            return .some(report?.referenceID)
        }
    }

    static let ntp: (UInt32, UInt16) = (vmck, 0)  // an NTP server whose IPv4 address spells VMCK
    static let three = Chronyd(sources: [ntp, (gps, 2), (vmck, 2)])

    @Test func theFirstRoundSearchesThenOnlyTheFoundIndexIsAsked() {
        var director = Self.settled()
        let first = Self.exchange(&director, now: 0, Self.three)
        #expect(first.sent == [.sourceCount, .sourceData(index: 0), .sourceData(index: 1), .sourceData(index: 2)])
        #expect(Self.found(first.events) == [Self.vmck])
        guard case .vmckSource(let report?, askedAt: 0) = first.events.first else { Issue.record("\(first)"); return }
        #expect(report.isRefclock("VMCK") && report.state == .selected)
        #expect(report.latestOffsetSeconds == -3.0 / 1_048_576)

        // Once a second, that index alone.
        #expect(Self.exchange(&director, now: Self.second - 1, Self.three).sent.isEmpty)
        let later = Self.exchange(&director, now: Self.second, Self.three)
        #expect(later.sent == [.sourceData(index: 2)])
        #expect(later.events == [.vmckSource(report, askedAt: Self.second)])
    }

    @Test func anIndexThatHoldsAnotherSourceOrNoneIsSearchedAgain() {
        var director = Self.settled()
        _ = Self.exchange(&director, now: 0, Self.three)
        // chronyd restarted with VMCK first.
        let moved = Chronyd(sources: [(Self.vmck, 2), (Self.gps, 2), Self.ntp])
        let again = Self.exchange(&director, now: Self.second, moved)
        #expect(again.sent == [.sourceData(index: 2), .sourceCount, .sourceData(index: 0)])
        #expect(Self.found(again.events) == [Self.vmck])
        // chronyd lost a source: index 0 is still VMCK, asked alone.
        #expect(Self.exchange(&director, now: 2 * Self.second, Chronyd(sources: [(Self.vmck, 2)])).sent == [.sourceData(index: 0)])

        // Index out of range ("no such source"): searched again.
        var shrunk = Self.settled()
        _ = Self.exchange(&shrunk, now: 0, Self.three)
        let fewer = Self.exchange(&shrunk, now: Self.second, Chronyd(sources: [(Self.vmck, 2)]))
        #expect(fewer.sent == [.sourceData(index: 2), .sourceCount, .sourceData(index: 0)])
        #expect(Self.found(fewer.events) == [Self.vmck])
    }

    @Test func noVMCKIsSaidAndSearchedForEveryRound() {
        var director = Self.settled()
        let other = Chronyd(sources: [Self.ntp, (Self.gps, 2)])
        for round in 0..<2 {
            let result = Self.exchange(&director, now: Int64(round) * Self.second, other)
            #expect(result.sent == [.sourceCount, .sourceData(index: 0), .sourceData(index: 1)])
            #expect(Self.found(result.events) == [nil])
        }
        let none = Self.exchange(&director, now: 2 * Self.second, Chronyd(sources: []))
        #expect(none.sent == [.sourceCount] && Self.found(none.events) == [nil])
    }

    @Test func anUnreportableIndexIsPassedOver() {
        var director = Self.settled()
        let chronyd = Chronyd(sources: [(Self.gps, 2), (Self.vmck, 2)], unreportable: [0])
        let result = Self.exchange(&director, now: 0, chronyd)
        #expect(result.sent == [.sourceCount, .sourceData(index: 0), .sourceData(index: 1)])
        #expect(Self.found(result.events) == [Self.vmck])
    }

    @Test func aFailureIsAnEventAndTheNextRoundComesASecondLater() {
        var director = Self.settled()
        _ = Self.exchange(&director, now: 0, Self.three)
        var unreachable = Self.three
        unreachable.failure = Self.down
        let failed = Self.exchange(&director, now: Self.second, unreachable)
        #expect(failed.sent == [.sourceData(index: 2)])
        #expect(failed.events == [.vmckSourceFailed(Self.down, askedAt: Self.second)])
        #expect(director.nextRetry(Self.asking) == nil, "a new round never wakes the loop: it rides on a look")
        #expect(director.next(Self.asking, now: 2 * Self.second - 1) == nil)
        // Back: the index it knew is asked first.
        #expect(Self.exchange(&director, now: 2 * Self.second, Self.three).sent == [.sourceData(index: 2)])
    }

    @Test func aShortReplyIsAFailureNotATrap() {
        var director = Self.settled()
        #expect(director.next(Self.asking, now: 0) == .sourceCount)
        let short = ControlReply(bytes: ChronyReplyBytes.reply(command: 14, type: 2, data: [0, 0]))!
        #expect(director.completed(.replied(.sourceCount, short), now: 0)
            == .vmckSourceFailed(.malformedReply(.sourceCount), askedAt: 0))

        #expect(director.next(Self.asking, now: Self.second) == .sourceCount)
        _ = director.completed(Self.three.answer(.sourceCount), now: Self.second)
        #expect(director.next(Self.asking, now: Self.second) == .sourceData(index: 0))
        let truncated = ControlReply(bytes: ChronyReplyBytes.reply(command: 15, type: 3, data: [0, 0, 0]))!
        #expect(director.completed(.replied(.sourceData(index: 0), truncated), now: Self.second)
            == .vmckSourceFailed(.malformedReply(.sourceData(index: 0)), askedAt: Self.second))
        // The failed search starts over.
        #expect(director.next(Self.asking, now: 2 * Self.second) == .sourceCount)
    }

    @Test func itComesAfterEverythingElseAndNeverWhileAResetIsOwed() {
        var director = ChronyDirector()
        director.enqueue(.makeStep)
        let owed = Wants(resetOwed: 1, selectable: false, trackingReport: true, sourceReport: true)
        #expect(director.next(owed, now: 0) == .resetSources)
        _ = director.completed(.failed(.resetSources, Self.down), now: 0)
        // While it is owed: everything else that may go, never the query.
        #expect(Self.exchange(&director, owed, now: 0, Self.three).sent
            == [.selectOptions(refid: "VMCK", noselect: true), .reselect, .tracking])
        #expect(director.nextRetry(owed) == 100_000_000, "the reset's retry, not the query")
        #expect(Self.exchange(&director, owed, now: 300_000_000, Self.three).sent == [.resetSources])
        // Acknowledged: the query after the burst, the queued step and tracking.
        let after = Wants(resetOwed: nil, selectable: false, trackingReport: true, sourceReport: true)
        #expect(Self.exchange(&director, after, now: 300_000_000, Self.three).sent
            == [.burst, .makeStep, .tracking, .sourceCount, .sourceData(index: 0), .sourceData(index: 1), .sourceData(index: 2)])
        // Not asked for: not asked, nor woken for.
        var quiet = Self.settled()
        let no = Wants(resetOwed: nil, selectable: true, trackingReport: false)
        #expect(Self.exchange(&quiet, no, now: 0, Self.three).sent.isEmpty)
        #expect(quiet.nextRetry(no) == nil)
    }

    @Test func aResetOwedMidSearchAbandonsItAndTheNextRoundStartsAfresh() {
        var director = Self.settled()
        #expect(director.next(Self.asking, now: 0) == .sourceCount)
        _ = director.completed(Self.three.answer(.sourceCount), now: 0)
        #expect(director.next(Self.asking, now: 0) == .sourceData(index: 0))
        #expect(director.completed(Self.three.answer(.sourceData(index: 0)), now: 0) == nil, "not VMCK: the search goes on")
        // A disruption: the reset first, and no more of the search.
        let owed = Wants(resetOwed: 1, selectable: true, trackingReport: false, sourceReport: false)
        #expect(Self.exchange(&director, owed, now: 10, Self.three).sent == [.resetSources])
        let sent = Self.exchange(&director, now: 20, Self.three).sent
        #expect(sent == [.burst, .sourceCount, .sourceData(index: 0), .sourceData(index: 1), .sourceData(index: 2)])
    }

    /// Driven as the loop drives it: it wakes at each look (every 62.5 ms)
    /// and at nextRetry. A round starts at the first look a second after
    /// the last ended, never on a wake-up of its own; each request of a
    /// search goes out at once after the reply before it.
    @Test func roundsRideOnTheLooksAndASearchGoesOnAtOnce() {
        let look: Int64 = 62_500_000
        var director = Self.settled()
        var now: Int64 = 5
        var sent: [(at: Int64, command: ControlCommand)] = []
        while sent.count < 7 {
            guard let command = director.next(Self.asking, now: now) else {
                let nextLook = (now / look + 1) * look
                let wake = director.nextRetry(Self.asking)
                #expect(wake == nil, "woken at \(String(describing: wake)) with no round under way")
                now = min(wake ?? .max, nextLook)
                continue
            }
            sent.append((now, command))
            #expect(director.nextRetry(Self.asking) == nil, "nothing to wake for while a request is out")
            now += 1000  // chronyd's round trip
            if director.completed(Self.three.answer(command), now: now) == nil {
                #expect(director.nextRetry(Self.asking).map { $0 <= now } == true, "the search goes on at once")
            }
        }
        #expect(sent.map(\.command) == [.sourceCount, .sourceData(index: 0), .sourceData(index: 1)]
            + [ControlCommand](repeating: .sourceData(index: 2), count: 4))
        // Each later round at the first look at or after a second past the
        // reply that ended the last (each reply 1000 ns after its request).
        let s = Self.second
        let firstLook = { (t: Int64) in (t + look - 1) / look * look }
        let second = firstLook(3005 + 1000 + s)
        let third = firstLook(second + 1000 + s)
        let fourth = firstLook(third + 1000 + s)
        #expect(sent.map(\.at) == [5, 1005, 2005, 3005, second, third, fourth])
        #expect(sent.dropFirst(4).allSatisfy { $0.at % look == 0 }, "rounds begin at looks: \(sent.map(\.at))")
    }
}
