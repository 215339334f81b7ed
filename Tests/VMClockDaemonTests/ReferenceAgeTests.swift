import ChronyProtocol
import DaemonCore
import Testing
import TestSupport
import VMClockPage

/// How old chronyd's reference is, from its own tracking bytes. chronyd
/// stamps the reference in its timescale (system clock + the correction it
/// still has to make: its "System time"), so a clock left seconds behind by
/// a restore, which chronyd slews in over a minute, must not make a fresh
/// update look unmade. Seen on a real guest (packaging/vm-test): the
/// segment stayed Disrupted 25 s after chronyd had resynchronised.
@Suite struct ReferenceAgeTests {
    typealias M = ChronyReplyBytes
    static let referenceSeconds: UInt64 = 1_800_000_000

    /// A report whose reference was updated at 1 800 000 000.25 s (chronyd's
    /// timescale) with `correction` = coefficient × 2^(exponent − 25) s still to make.
    static func report(coefficient: Int32, exponent: Int32) -> TrackingReport {
        let bytes = M.tracking(
            referenceSeconds: referenceSeconds, referenceNanoseconds: 250_000_000,
            correction: M.float(coefficient: coefficient, exponent: exponent), skew: M.float(coefficient: 0, exponent: 0),
            rootDelay: M.float(coefficient: 0, exponent: 0), rootDispersion: M.float(coefficient: 0, exponent: 0),
            updateInterval: M.float(coefficient: 1 << 24, exponent: 1))
        return ControlReply(bytes: M.reply(command: 33, type: 5, data: bytes))!.tracking!
    }

    @Test func aClockThreeSecondsSlowReadsTheTrueAge() throws {
        // "System time: 3 seconds slow": correction +3 s (3 × 2^22 × 2^-22).
        let report = Self.report(coefficient: 3 << 22, exponent: 3)
        #expect(report.currentCorrection == 3)
        // The system clock reads 1 799 999 997.75: true time 1 800 000 000.75,
        // half a second after the update.
        let now = Timestamp(seconds: Int64(Self.referenceSeconds) - 3, nanoseconds: 750_000_000)
        #expect(try #require(report.referenceAgeSeconds(systemNow: now)) == 0.5)
    }

    @Test func aClockThreeSecondsFastReadsTheTrueAge() throws {
        let report = Self.report(coefficient: -(3 << 22), exponent: 3)
        #expect(report.currentCorrection == -3)
        let now = Timestamp(seconds: Int64(Self.referenceSeconds) + 3, nanoseconds: 750_000_000)
        #expect(try #require(report.referenceAgeSeconds(systemNow: now)) == 0.5)
    }

    @Test func noCorrectionIsTheSystemClocksAge() throws {
        let report = Self.report(coefficient: 0, exponent: 0)
        let now = Timestamp(seconds: Int64(Self.referenceSeconds) + 2, nanoseconds: 0)
        #expect(try #require(report.referenceAgeSeconds(systemNow: now)) == 1.75)
    }

    @Test func aReferenceTimePastInt64SaysNothing() {
        let bytes = M.tracking(
            referenceSeconds: UInt64(Int64.max) + 1, correction: M.float(coefficient: 0, exponent: 0),
            skew: M.float(coefficient: 0, exponent: 0), rootDelay: M.float(coefficient: 0, exponent: 0),
            rootDispersion: M.float(coefficient: 0, exponent: 0), updateInterval: M.float(coefficient: 0, exponent: 0))
        let report = ControlReply(bytes: M.reply(command: 33, type: 5, data: bytes))!.tracking!
        #expect(report.referenceAgeSeconds(systemNow: Timestamp(seconds: 1_800_000_000, nanoseconds: 0)) == nil)
    }
}
