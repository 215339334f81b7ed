/// What a page is good for: the one verdict both `vmclockd status` and the
/// daemon's state machine act on.
public enum PageVerdict: String, Sendable, Equatable {
    /// Gives UTC with the host vouching for it (synchronized or freerunning).
    case usable
    /// No clock data, but disruption_marker still signals migrations.
    case disruptionOnly = "disruption-only"
    /// Malformed, foreign, or the host says its time is not to be used.
    case unusable
}

public struct PageAssessment: Sendable, Equatable {
    /// Why a page is not usable.
    public enum Problem: Sendable, Equatable, CustomStringConvertible {
        /// The page failed structural validation.
        case invalid(PageError)
        /// No time can be read from it (absent, foreign or malformed clock data).
        case noTime(ClockDataError)
        /// The time is there, but the host does not vouch for it.
        case clockStatus(ClockStatus)

        public var description: String {
            switch self {
            case .invalid(let error): error.description
            case .noTime(let error): error.description
            case .clockStatus(let status):
                "clock_status is \(status.rawValue) (\(status.name)): the host does not vouch for its time"
            }
        }
    }

    /// The page's clock data, where it has valid clock data.
    public var clockData: ClockData?
    /// nil when usable. Kept as a value, not text: the daemon judges every
    /// look and only describes a problem when it logs one.
    public var problem: Problem?

    public var verdict: PageVerdict {
        switch problem {
        case nil: .usable
        case .noTime(let error) where error.isDisruptionOnly: .disruptionOnly
        default: .unusable
        }
    }

    /// Why the verdict is not `usable`; nil when it is.
    public var reason: String? { problem?.description }

    /// Judges a decoded page: clock data first, then the host's own status.
    public init(page: VMClockPage, nativeCounter: CounterID?, taiPolicy: TAIOffsetPolicy = .automatic) {
        do throws(ClockDataError) {
            let data = try page.clockData(nativeCounter: nativeCounter, taiPolicy: taiPolicy)
            clockData = data
            switch data.clockStatus {
            case .synchronized, .freerunning: problem = nil
            case .unknown, .initializing, .unreliable: problem = .clockStatus(data.clockStatus)
            }
        } catch {
            clockData = nil
            problem = .noTime(error)
        }
    }

    /// A page that failed structural validation.
    public init(pageError: PageError) {
        clockData = nil
        problem = .invalid(pageError)
    }
}
