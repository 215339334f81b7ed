import Testing
@testable import DaemonCore

/// When the loop wakes: once per watch interval, faster only while there is
/// a reason, and every sample interval a look that carries a sample.
@Suite struct LookScheduleTests {
    static let ms: Int64 = 1_000_000

    /// The looks taken between 0 and `until` at `pace`, and which carried a sample.
    static func looks(watch: Double, sample: Double, pace: LookSchedule.Pace, until: Int64) -> (looks: [Int64], samples: [Int64]) {
        var schedule = LookSchedule(watchInterval: watch, sampleInterval: sample, now: 0)
        var looks: [Int64] = [], samples: [Int64] = []
        var now: Int64 = 0
        while now < until {
            now = max(now, schedule.nextLook)
            guard now < until, schedule.isDue(now) else { break }
            looks.append(now)
            if schedule.begin(now) { samples.append(now) }
            schedule.end(now, pace: pace)
        }
        return (looks, samples)
    }

    @Test func atTheDefaultsEveryLookCarriesASampleAndNothingElseWakes() {
        let (looks, samples) = Self.looks(watch: 0.0625, sample: 0.0625, pace: .watch, until: 1_000 * Self.ms)
        #expect(looks.count == 16)
        #expect(samples == looks)
    }

    @Test func maintenanceAnnouncedLooksEvery10msButSamplesKeepTheirInterval() {
        let (looks, samples) = Self.looks(watch: 0.0625, sample: 0.0625, pace: .maintenance, until: 1_000 * Self.ms)
        #expect(zip(looks, looks.dropFirst()).allSatisfy { $1 - $0 <= 10 * Self.ms })
        #expect(samples.count == 16)
    }

    @Test func measuringLooksEvery25ms() {
        let (looks, _) = Self.looks(watch: 0.0625, sample: 1, pace: .measuring, until: 1_000 * Self.ms)
        #expect(looks.count == 40)
    }

    @Test func anOperatorsFasterWatchIsKeptAndNeverSlowedByAPace() {
        let (looks, samples) = Self.looks(watch: 0.005, sample: 1, pace: .maintenance, until: 1_000 * Self.ms)
        #expect(looks.count == 200)
        #expect(samples.count == 1)
    }

    @Test func aLateLookSendsOneSampleNotTheMissedOnes() {
        var schedule = LookSchedule(watchInterval: 0.0625, sampleInterval: 0.0625, now: 0)
        let first = schedule.begin(0)
        schedule.end(0, pace: .watch)
        // The loop was stopped for a second (a stalled VM).
        let late = schedule.begin(1_000 * Self.ms)
        schedule.end(1_000 * Self.ms, pace: .watch)
        let next = schedule.begin(1_001 * Self.ms)
        #expect(first && late && !next)
        #expect(schedule.nextLook == 1_062_500_000)
    }
}
