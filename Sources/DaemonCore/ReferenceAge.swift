import ChronyProtocol
import VMClockPage

extension TrackingReport {
    /// How long before the system clock read `systemNow` chronyd last
    /// updated its reference, s; nil for a reference time past any Int64.
    ///
    /// chronyd stamps its reference in its own timescale: the system clock
    /// plus the correction it has yet to make. After a restore the clock is
    /// seconds behind, and chronyd slews that in over a minute; read against
    /// the system clock alone, every update would look that much younger
    /// (negative: never made) until the slew was done.
    public func referenceAgeSeconds(systemNow: Timestamp) -> Double? {
        guard let seconds = Int64(exactly: referenceTime.rounded(.down)) else { return nil }
        let fraction = referenceTime - Double(seconds)
        return systemNow.seconds(since: Timestamp(seconds: seconds, nanoseconds: 0)) - fraction + currentCorrection
    }
}
