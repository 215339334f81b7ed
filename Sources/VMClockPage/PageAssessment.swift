/// What a page is good for, as `vmclockd status` reports it.
public enum PageVerdict: String, Sendable, Equatable {
    /// Gives UTC with the host vouching for it (synchronized or freerunning).
    case usable
    /// No clock data, but disruption_marker still signals migrations.
    case disruptionOnly = "disruption-only"
    /// Malformed, foreign, or the host says its time is not to be used.
    case unusable
}

public struct PageAssessment: Sendable, Equatable {
    public var verdict: PageVerdict
    /// Why the verdict is not `usable`; nil when it is.
    public var reason: String?
    public var clockData: ClockData?

    /// Judges a decoded page: clock data first, then the host's own status.
    public init(page: VMClockPage, nativeCounter: CounterID?, taiPolicy: TAIOffsetPolicy = .automatic) {
        do throws(ClockDataError) {
            let data = try page.clockData(nativeCounter: nativeCounter, taiPolicy: taiPolicy)
            clockData = data
            switch data.clockStatus {
            case .synchronized, .freerunning:
                verdict = .usable
                reason = nil
            case .unknown, .initializing, .unreliable:
                verdict = .unusable
                reason = "clock_status is \(data.clockStatus.rawValue) (\(data.clockStatus.name)): the host does not vouch for its time"
            }
        } catch {
            clockData = nil
            verdict = error.isDisruptionOnly ? .disruptionOnly : .unusable
            reason = error.description
        }
    }

    /// A page that failed structural validation.
    public init(pageError: PageError) {
        verdict = .unusable
        reason = pageError.description
        clockData = nil
    }
}
