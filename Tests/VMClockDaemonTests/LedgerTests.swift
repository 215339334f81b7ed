import ChronyProtocol
import Testing

@testable import DaemonCore
@testable import DaemonPublication

/// The one ledger of what the daemon did: each event the loop hands it is
/// counted once, in one counter, and no counter ever goes down (Prometheus
/// reads a decrease as a restart of the process).
@Suite struct Ledger {
    static func moment(_ seconds: Int64) -> DaemonSnapshot.Moment { Publication.moment(seconds) }

    /// One thing the loop can hand the ledger, and the counter it must move
    /// (nil: it counts nothing, it only records).
    enum Happening: CaseIterable {
        case look, sent, withheldCalibrating, withheldResetPending, unsent, dropped, migration, restore, hostStep
        case resetFailed, resetAcknowledged, stateChanged, chronydAnswered

        var counter: String? {
            switch self {
            case .look: "looks"
            case .sent: "sent"
            case .withheldCalibrating: "withheld/calibrating"
            case .withheldResetPending: "withheld/reset-pending"
            case .unsent: "unsent"
            case .dropped: "dropped"
            case .migration: "disruptions/migration"
            case .restore: "disruptions/snapshot-restore"
            case .hostStep: "host steps"
            case .resetFailed: "reset failures"
            case .resetAcknowledged, .stateChanged, .chronydAnswered: nil
            }
        }
    }

    /// Every counter the ledger keeps, by name: what status.json and the metrics show.
    static func counters(_ r: DaemonLedger.Record) -> [String: Int] {
        var all = ["looks": r.looks, "sent": r.samples.sent, "unsent": r.samples.unsent, "dropped": r.samples.dropped,
                   "host steps": r.hostSteps, "reset failures": r.resetFailures]
        for (reason, count) in r.samples.withheld { all["withheld/\(reason)"] = count }
        for (kind, count) in r.disruptions { all["disruptions/\(kind)"] = count }
        return all
    }

    static func hand(_ happening: Happening, to ledger: inout DaemonLedger, sample: SampleBuilder.Built, at second: Int64) {
        let at = moment(second)
        switch happening {
        case .look: ledger.looked()
        case .sent: ledger.sample(.sent(sample, at: at))
        case .withheldCalibrating: ledger.sample(.withheld(reason: HoldReason.calibrating.kind))
        case .withheldResetPending: ledger.sample(.withheld(reason: HoldReason.resetPending.kind))
        case .unsent: ledger.sample(.unsent)
        case .dropped: ledger.sample(.dropped)
        case .migration:
            ledger.note(.disruption(.migration, oldMarker: 1, newMarker: 2, generation: nil, whileAway: false), resetNumber: 1, at: at)
        case .restore:
            ledger.note(.disruption(.snapshotRestore, oldMarker: 2, newMarker: 3, generation: 4, whileAway: false), resetNumber: 2, at: at)
        case .hostStep:
            let step = HostStep(stepNanoseconds: 5_000_000, oldBoundNanoseconds: 1000, newBoundNanoseconds: 1000)
            ledger.note(.hostStep(step, marker: 3), resetNumber: 3, at: at)
        case .resetFailed: ledger.resetFailed()
        case .resetAcknowledged: ledger.resetAcknowledged(disruption: 3, at: at)
        case .stateChanged: ledger.note(.stateChanged(from: .tracking, to: .holding(.busy)), resetNumber: 0, at: at)
        case .chronydAnswered: ledger.chronyd(.init(askedAt: at, unreachable: "no reply", vmck: nil))
        }
    }

    static func trackingSample() throws -> SampleBuilder.Built {
        var s = Scenario()
        s.startTracking()
        return try #require(s.core.sample)
    }

    @Test func eachEventMovesItsOneCounterByOneAndNoCounterEverGoesDown() throws {
        let sample = try Self.trackingSample()
        var ledger = DaemonLedger(started: Self.moment(0))
        var fed: [String: Int] = [:]
        // Every event after every other one.
        let sequence = Happening.allCases.flatMap { first in Happening.allCases.flatMap { [first, $0] } }
        for (second, happening) in sequence.enumerated() {
            let before = Self.counters(ledger.record)
            Self.hand(happening, to: &ledger, sample: sample, at: Int64(second + 1))
            let after = Self.counters(ledger.record)
            let moved = Set(before.keys).union(after.keys).filter { after[$0, default: 0] != before[$0, default: 0] }
            #expect(moved == Set([happening.counter].compactMap { $0 }), "\(happening) moved \(moved)")
            for (name, count) in after { #expect(count >= before[name, default: 0], "\(name) went down after \(happening)") }
            if let counter = happening.counter { #expect(after[counter] == before[counter, default: 0] + 1); fed[counter, default: 0] += 1 }
        }
        #expect(Self.counters(ledger.record).filter { $0.value > 0 } == fed, "each event counted once, and only once")
    }

    /// What the published state and the metrics show is the ledger's one record.
    @Test func thePublishedSnapshotAndTheMetricsShowTheLedger() throws {
        var s = Scenario()
        s.startTracking()
        let sample = try #require(s.core.sample)
        var ledger = DaemonLedger(started: Self.moment(0))
        for happening: Happening in [.look, .look, .sent, .sent, .sent, .unsent, .dropped, .withheldCalibrating, .migration, .resetFailed] {
            Self.hand(happening, to: &ledger, sample: sample, at: 5)
        }
        let snapshot = DaemonSnapshot.taken(
            now: 6_000_000_000, core: s.core, configuration: s.core.configuration, ledger: ledger.record,
            notificationsInUse: false, process: nil)
        #expect(snapshot.samples == .init(sent: 3, withheld: ["calibrating": 1], unsent: 1, dropped: 1))
        #expect(snapshot.looks == 2 && snapshot.resetFailures == 1 && snapshot.disruptions == ["migration": 1])
        #expect(snapshot.lastSample?.at == Self.moment(5))
        let metrics = snapshot.metricsText
        for line in ["vmclockd_samples_total{outcome=\"sent\"} 3", "vmclockd_samples_total{outcome=\"withheld\"} 1",
                     "vmclockd_samples_total{outcome=\"unsent\"} 1", "vmclockd_samples_total{outcome=\"dropped\"} 1",
                     "vmclockd_looks_total 2", "vmclockd_chronyd_reset_failures_total 1",
                     "vmclockd_disruptions_total{kind=\"migration\"} 1"] {
            #expect(metrics.contains("\n\(line)\n"), "\(line) missing:\n\(metrics)")
        }
    }

    /// chronyd's answer is the one type from the request to what is learnt:
    /// what it says of chronyd's view of VMCK, and when it says nothing.
    @Test func chronydsAnswerGivesItsViewOfVMCK() {
        let down = ControlFailure.noReply(path: "/run/chrony/chronyd.sock", attempts: 3)
        let report = SourceReport(referenceID: 0x564D_434B, mode: .refclock, state: .selected)
        #expect(ChronydView(.vmckSource(report, askedAt: 7), now: 9) == .init(askedAtMonotonic: 7, outcome: .source(report)))
        #expect(ChronydView(.vmckSource(nil, askedAt: 7), now: 9) == .init(askedAtMonotonic: 7, outcome: .noSource))
        #expect(ChronydView(.vmckSourceFailed(down, askedAt: 7), now: 9) == .init(askedAtMonotonic: 7, outcome: .unreachable(down.description)))
        // A reset that did not reach chronyd says why, as of when it failed.
        #expect(ChronydView(.resetFailed(disruption: 1, attempts: 2, failure: down), now: 9)
            == .init(askedAtMonotonic: 9, outcome: .unreachable(down.description)))
        // chronyd refusing it answered: no word on reaching it.
        #expect(ChronydView(.resetFailed(disruption: 1, attempts: 2, failure: .refused(.resetSources, .invalid)), now: 9) == nil)
        #expect(ChronydView(.resetAcknowledged(first: 1, last: 1, attempts: 1), now: 9) == nil)
        #expect(ChronydView(.selectionApplied(selectable: true), now: 9) == nil)
    }
}
