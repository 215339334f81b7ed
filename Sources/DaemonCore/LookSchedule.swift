/// When the loop looks at the page and when a look carries a sample. Looks
/// come every watch interval (by default the sample interval: one wake-up per
/// sample), faster only while there is a reason: the rate is being measured
/// after a start or a disruption, so samples resume within tens of ms; or the
/// host announced maintenance (DISRUPTION_SOON / IMMINENT), so the
/// disruption itself is seen within 10 ms. Pure: times are monotonic ns.
package struct LookSchedule {
    package enum Pace: Equatable {
        case watch, measuring, maintenance
    }

    package static let measuringLookNanoseconds: Int64 = 25_000_000
    package static let maintenanceLookNanoseconds: Int64 = 10_000_000

    private let watchNanoseconds: Int64
    private let sampleNanoseconds: Int64
    package private(set) var nextLook: Int64
    private var nextSample: Int64

    package init(watchInterval: Double, sampleInterval: Double, now: Int64) {
        watchNanoseconds = Int64(watchInterval * 1e9)
        sampleNanoseconds = Int64(sampleInterval * 1e9)
        nextLook = now
        nextSample = now
    }

    package func isDue(_ now: Int64) -> Bool { now >= nextLook }

    /// A look is taken at `now`; true if it is to carry a sample.
    package mutating func begin(_ now: Int64) -> Bool {
        guard now >= nextSample else { return false }
        nextSample += sampleNanoseconds
        // A look late by a whole interval (a stalled VM) sends one sample,
        // not the missed ones, and the cadence starts again from it.
        if nextSample <= now { nextSample = now + sampleNanoseconds }
        return true
    }

    /// Plans the next look after the one taken at `now`; never later than the next sample.
    package mutating func end(_ now: Int64, pace: Pace) {
        let interval = switch pace {
        case .watch: watchNanoseconds
        case .measuring: min(watchNanoseconds, Self.measuringLookNanoseconds)
        case .maintenance: min(watchNanoseconds, Self.maintenanceLookNanoseconds)
        }
        nextLook = min(now + interval, nextSample)
    }
}
