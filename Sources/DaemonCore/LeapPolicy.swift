import ChronyProtocol
import VMClockPage

/// How the page's leap indicator reaches chronyd. chronyd (reference.c)
/// applies a refclock's leap status only on the last day of June or
/// December, at that day's midnight, and ignores it on any other day. The
/// page announces a leap "at the end of the month". So the leap goes out
/// only on the last day of the month it belongs to, the only day on which
/// it can be right; on other days the sample says "normal". Around the leap
/// itself (23:59:59 to 00:00:01 UTC) samples are withheld: the page's
/// POSIX-style seconds are ambiguous there. And a page anchored before a
/// leap and evaluated after it is a whole second off until the host
/// re-anchors it (its formula knows nothing of the leap): withheld too.
public enum LeapPolicy {
    public enum Decision: Equatable, Sendable {
        case send(SockSample.Leap)
        case withhold
    }

    public static func decide(indicator: LeapIndicator, utc: Timestamp, anchor: Timestamp? = nil) -> Decision {
        if Self.pending.contains(indicator), let anchor, crossesMonthEnd(from: anchor, to: utc) { return .withhold }
        let date = CivilDate(secondsSinceEpoch: utc.seconds)
        let secondOfDay = utc.seconds - date.startOfDaySeconds
        let lastDay = date.isLastDayOfMonth
        let nearMidnight = (lastDay && secondOfDay >= 86_399) || (date.day == 1 && secondOfDay < 1)
        switch indicator {
        case .none, .afterPositiveLeap, .afterNegativeLeap:
            return .send(.normal)
        case .positiveAtEndOfMonth, .duringPositiveLeap:
            if nearMidnight { return .withhold }
            return .send(lastDay ? .insertSecond : .normal)
        case .negativeAtEndOfMonth:
            if nearMidnight || (lastDay && secondOfDay >= 86_398) { return .withhold }
            return .send(lastDay ? .deleteSecond : .normal)
        }
    }

    static let pending: [LeapIndicator] = [.positiveAtEndOfMonth, .negativeAtEndOfMonth, .duringPositiveLeap]

    /// True when a month's end (where a page's leap takes effect) lies after
    /// `anchor` and at or before `utc`.
    static func crossesMonthEnd(from anchor: Timestamp, to utc: Timestamp) -> Bool {
        guard utc.seconds > anchor.seconds else { return false }
        var day = CivilDate(secondsSinceEpoch: anchor.seconds)
        while !day.isLastDayOfMonth { day = CivilDate(secondsSinceEpoch: day.startOfDaySeconds + 86_400) }
        return utc.seconds >= day.startOfDaySeconds + 86_400
    }
}
