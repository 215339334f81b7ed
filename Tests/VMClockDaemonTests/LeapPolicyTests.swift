import Foundation
import Testing
import DaemonCore
import VMClockPage

@Suite struct LeapSeconds {
    /// Seconds since the epoch of a UTC date and time, from Foundation's calendar.
    static func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 12, _ minute: Int = 0, _ second: Int = 0) -> Int64 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))!
        return Int64(date.timeIntervalSince1970)
    }

    static func decide(_ indicator: LeapIndicator, _ seconds: Int64, nanoseconds: Int64 = 0) -> LeapPolicy.Decision {
        LeapPolicy.decide(indicator: indicator, utc: Timestamp(seconds: seconds, nanoseconds: nanoseconds))
    }

    @Test func aPositiveLeapGoesOutOnlyOnTheLastDayOfTheMonth() {
        #expect(Self.decide(.positiveAtEndOfMonth, Self.utc(2027, 6, 29)) == .send(.normal))
        #expect(Self.decide(.positiveAtEndOfMonth, Self.utc(2027, 6, 30)) == .send(.insertSecond))
        #expect(Self.decide(.positiveAtEndOfMonth, Self.utc(2027, 12, 31, 0, 0, 5)) == .send(.insertSecond))
        #expect(Self.decide(.positiveAtEndOfMonth, Self.utc(2028, 2, 29)) == .send(.insertSecond))  // leap year
        #expect(Self.decide(.positiveAtEndOfMonth, Self.utc(2027, 2, 28)) == .send(.insertSecond))
        #expect(Self.decide(.positiveAtEndOfMonth, Self.utc(2028, 2, 28)) == .send(.normal))
    }

    @Test func aNegativeLeapGoesOutOnlyOnTheLastDayOfTheMonth() {
        #expect(Self.decide(.negativeAtEndOfMonth, Self.utc(2027, 12, 30)) == .send(.normal))
        #expect(Self.decide(.negativeAtEndOfMonth, Self.utc(2027, 12, 31)) == .send(.deleteSecond))
    }

    @Test func samplesAroundTheLeapAreWithheld() {
        #expect(Self.decide(.positiveAtEndOfMonth, Self.utc(2027, 6, 30, 23, 59, 58)) == .send(.insertSecond))
        #expect(Self.decide(.positiveAtEndOfMonth, Self.utc(2027, 6, 30, 23, 59, 59), nanoseconds: 500_000_000) == .withhold)
        #expect(Self.decide(.duringPositiveLeap, Self.utc(2027, 7, 1, 0, 0, 0), nanoseconds: 200_000_000) == .withhold)
        #expect(Self.decide(.negativeAtEndOfMonth, Self.utc(2027, 12, 31, 23, 59, 58)) == .withhold)
        #expect(Self.decide(.afterPositiveLeap, Self.utc(2027, 7, 1, 0, 0, 0)) == .send(.normal))
    }

    @Test(arguments: [LeapIndicator.none, .afterPositiveLeap, .afterNegativeLeap])
    func otherwiseNormal(_ indicator: LeapIndicator) {
        #expect(Self.decide(indicator, Self.utc(2027, 6, 30)) == .send(.normal))
    }

    @Test func civilDatesAgreeWithFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let seconds = Int64.random(in: 0...(Int64(1) << 34), using: &generator)
            let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            let civil = CivilDate(secondsSinceEpoch: seconds)
            #expect([civil.year, civil.month, civil.day] == [Int64(parts.year!), Int64(parts.month!), Int64(parts.day!)])
        }
    }

    /// A page anchored before the leap and evaluated after it is a second
    /// off (its formula knows nothing of the leap) until the host re-anchors.
    @Test func aPageAnchoredBeforeALeapIsWithheldAfterIt() {
        let anchor = Timestamp(seconds: Self.utc(2027, 6, 30, 23, 59, 50), nanoseconds: 0)
        func decide(_ indicator: LeapIndicator, _ seconds: Int64) -> LeapPolicy.Decision {
            LeapPolicy.decide(indicator: indicator, utc: Timestamp(seconds: seconds, nanoseconds: 0), anchor: anchor)
        }
        #expect(decide(.positiveAtEndOfMonth, Self.utc(2027, 6, 30, 23, 59, 58)) == .send(.insertSecond))
        #expect(decide(.positiveAtEndOfMonth, Self.utc(2027, 7, 1, 0, 0, 5)) == .withhold)
        #expect(decide(.positiveAtEndOfMonth, Self.utc(2027, 7, 2)) == .withhold)
        #expect(decide(.negativeAtEndOfMonth, Self.utc(2027, 7, 1, 0, 0, 5)) == .withhold)
        // Re-anchored after the leap: fine again.
        let fresh = Timestamp(seconds: Self.utc(2027, 7, 1, 0, 0, 3), nanoseconds: 0)
        #expect(LeapPolicy.decide(indicator: .afterPositiveLeap, utc: Timestamp(seconds: Self.utc(2027, 7, 1, 0, 0, 5), nanoseconds: 0), anchor: fresh) == .send(.normal))
        // No leap announced: crossing a month's end means nothing.
        #expect(decide(.none, Self.utc(2027, 7, 1, 0, 0, 5)) == .send(.normal))
    }
}
