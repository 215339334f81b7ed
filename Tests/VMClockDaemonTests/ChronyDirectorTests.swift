import ChronyClients
import ChronyProtocol
import ErrorNumbers
import SystemPackage
import Testing
import DaemonCore
import VMClockSystem

/// What the director asks of chronyd, against scripted outcomes: the
/// requests and their order are what a user would see in chronyd's log.
@Suite struct ChronyDirectorTests {
    typealias Wants = ChronyDirector.Wants
    static let ok = ControlReply(bytes: [6, 2, 0, 0, 0, 66, 0, 1] + [UInt8](repeating: 0, count: 20))!
    static let invalid = ControlReply(bytes: [6, 2, 0, 0, 0, 72, 0, 1, 0, 3] + [UInt8](repeating: 0, count: 18))!
    static let down = ControlFailure.unreachable(path: "/run/chrony/chronyd.sock", ErrorNumber(Errno.noSuchFileOrDirectory))

    @Test func aResetIsRetriedWithBackoffUntilAcknowledgedThenBurst() {
        var director = ChronyDirector()
        let wants = Wants(resetOwed: 1, selectable: false, trackingReport: false)
        var now: Int64 = 0
        var attemptTimes: [Int64] = []
        var events: [ChronyDirector.Event] = []
        for _ in 0..<4 {
            // Whatever else it asks meanwhile (selectopts) chronyd answers: only the reset fails.
            while true {
                guard let command = director.next(wants, now: now) else {
                    now = director.nextRetry(wants) ?? now + 1
                    continue
                }
                if command == .resetSources { break }
                _ = director.completed(.replied(command, Self.ok), now: now)
            }
            attemptTimes.append(now)
            events += [director.completed(.failed(.resetSources, Self.down), now: now)].compactMap { $0 }
        }
        #expect(zip(attemptTimes.dropFirst(), attemptTimes).map { $0 - $1 } == [100_000_000, 200_000_000, 400_000_000])
        #expect(events.map { if case .resetFailed(1, let attempts, _) = $0 { attempts } else { -1 } } == [1, 2, 3, 4])
        now = director.nextRetry(wants)!
        #expect(director.next(wants, now: now) == .resetSources)
        #expect(director.completed(.replied(.resetSources, Self.ok), now: now) == .resetAcknowledged(first: 1, last: 1, attempts: 5))
        // After the reset, the burst for fresh NTP measurements.
        let after = Wants(resetOwed: nil, selectable: false, trackingReport: false)
        #expect(director.next(after, now: now) == .burst)
        _ = director.completed(.replied(.burst, Self.ok), now: now)
        #expect(director.next(after, now: now) == nil)
    }

    @Test func aResetNotYetSentCoversTheDisruptionsBeforeIt() {
        var director = ChronyDirector()
        #expect(director.next(Wants(resetOwed: 1, selectable: false, trackingReport: false), now: 0) == .resetSources)
        _ = director.completed(.failed(.resetSources, Self.down), now: 0)
        let later = Wants(resetOwed: 2, selectable: false, trackingReport: false)
        #expect(director.next(later, now: 1_000_000_000) == .resetSources)
        #expect(director.completed(.replied(.resetSources, Self.ok), now: 1_000_000_000)
            == .resetAcknowledged(first: 1, last: 2, attempts: 2))
    }

    @Test func selectionFollowsTheWantsAndAnOldChronydIsSaidOnce() {
        var director = ChronyDirector()
        var sent: [ControlCommand] = []
        var events: [ChronyDirector.Event] = []
        for selectable in [false, true, false, true] {
            let wants = Wants(resetOwed: nil, selectable: selectable, trackingReport: false)
            guard let command = director.next(wants, now: 0) else { continue }
            sent.append(command)
            events += [director.completed(.failed(command, .refused(command, .invalid)), now: 0)].compactMap { $0 }
            #expect(director.next(wants, now: 0) == nil)  // nothing more to do on this chronyd (no reselect either)
        }
        #expect(sent == [false, true, false, true].map { .selectOptions(refid: "VMCK", noselect: !$0) })
        #expect(events == [.selectionUnsupported])
        #expect(director.selectionSupported == false)
    }

    @Test func aFailedSelectionIsRetried() {
        var director = ChronyDirector()
        let wants = Wants(resetOwed: nil, selectable: false, trackingReport: false)
        let command = director.next(wants, now: 0)!
        #expect(director.completed(.failed(command, Self.down), now: 0) == .selectionFailed(Self.down))
        #expect(director.next(wants, now: 50_000_000) == nil)
        #expect(director.next(wants, now: 100_000_000) == command)
    }

    @Test func anAppliedSelectionIsFollowedByAReselect() {
        var director = ChronyDirector()
        let wants = Wants(resetOwed: nil, selectable: false, trackingReport: false)
        let command = director.next(wants, now: 0)!
        #expect(director.completed(.replied(command, Self.ok), now: 0) == .selectionApplied(selectable: false))
        #expect(director.next(wants, now: 0) == .reselect)
    }
}
