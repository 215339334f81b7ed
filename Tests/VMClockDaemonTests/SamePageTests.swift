import Testing
import VMClockAccess
import DaemonCore
import VMClockPage

/// A look at a page whose seq_count has not moved reuses its decoded verdict:
/// it must judge exactly as a full read would, and never outlive the page.
@Suite struct SamePage {
    @Test func anUnchangedPageKeepsTrackingAndGivesTheSameSampleAsAFullRead() throws {
        var s = Scenario()
        s.startTracking()
        #expect(s.state == .tracking)
        s.now += 62_500_000
        s.feed(.samePage(s.lookNow))
        let reused = try #require(s.core.sample)
        s.now += 1_000_000
        s.look()
        let decoded = try #require(s.core.sample)
        #expect(s.state == .tracking)
        // The same page and the same offset (the simulated clock has none),
        // a millisecond later.
        #expect(reused.offsetNanoseconds == decoded.offsetNanoseconds)
        #expect(reused.boundNanoseconds <= decoded.boundNanoseconds)
    }

    @Test func anUnchangedPageStillHoldsWhenItsBoundOutgrowsThePromise() {
        // The bound at tracking is 10 µs plus the read; 0.1 ppm a second on top passes 10.1 µs.
        var s = Scenario { $0.maxError = 0.000_010_1 }
        s.startTracking()
        #expect(s.state == .tracking)
        // Not re-anchored: the page's bound grows with the time since its anchor.
        s.now += 1_000_000_000
        s.feed(.samePage(s.lookNow))
        guard case .holding(.boundAbovePromise) = s.state else {
            Issue.record("state \(s.state)")
            return
        }
        #expect(s.core.sample == nil)
    }

    @Test func noVerdictSurvivesALostPage() {
        var s = Scenario()
        s.startTracking()
        s.feed(.unavailable(.absent(path: "/dev/vmclock0")))
        #expect(s.core.resetOwed != nil || s.acknowledgedResets > 0)
        s.now += 62_500_000
        s.feed(.samePage(s.lookNow))
        #expect(s.state != .tracking)
        #expect(s.core.sample == nil)
    }

    @Test func aSamePageBeforeAnyPageIsIgnored() {
        var s = Scenario()
        let effects = s.feed(.samePage(s.lookNow))
        #expect(effects.isEmpty)
        #expect(s.state == .starting)
    }
}
