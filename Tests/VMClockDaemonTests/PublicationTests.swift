import Foundation
import Testing
import VMClockAccess
import VMClockPage

@testable import DaemonCore
@testable import DaemonPublication
import VMClockSystem

/// The published state's file format: what the daemon writes reads back
/// exactly, and what is not a document it wrote is refused, never trapped on.
@Suite struct Publication {
    static func moment(_ seconds: Int64) -> DaemonSnapshot.Moment {
        .init(unixNanoseconds: 1_796_000_000_000_000_000 + seconds * 1_000_000_000, monotonicNanoseconds: seconds * 1_000_000_000)
    }

    static var sample: DaemonSnapshot {
        var s = DaemonSnapshot(
            pid: 4242, processStartTicks: 123_456, published: moment(100), started: moment(1), device: "/dev/vmclock0",
            state: "holding", reason: "reset-pending", reasonText: "waiting for chronyd to acknowledge \"reset sources\"\n",
            since: moment(90), promiseNanoseconds: 1_000_000, disruptionMarker: UInt64.max, notificationsInUse: true,
            maintenance: ["disruption_soon"])
        s.lastSample = .init(at: moment(89), offsetNanoseconds: -3_200_000, boundNanoseconds: 10_090)
        s.samples = .init(sent: 1000, withheld: ["calibrating": 16, "reset-pending": 3], unsent: 2, dropped: 1)
        s.disruptions = ["migration": 2, "snapshot-restore": 1]
        s.lastDisruption = .init(at: moment(90), kind: "migration", marker: UInt64.max, whileAway: false)
        s.lastRestore = moment(50)
        s.reset = .init(disruption: 3, requestedAt: moment(90), acknowledgedAt: nil)
        s.resetFailures = 4
        s.hostSteps = 2
        s.chronyd = .init(askedAt: moment(99), unreachable: "connection refused ✗", vmck: .init(state: "selected", latest: .init(offsetNanoseconds: Int64.min, measuredOffsetNanoseconds: 7, errorNanoseconds: 5, ageSeconds: 3)))
        s.looks = 1600
        return s
    }

    @Test func aPublishedSnapshotReadsBackExactly() throws {
        let text = Self.sample.json.text
        let read = try DaemonSnapshot(json: JSONValue(parsing: text))
        #expect(read == Self.sample)
        var empty = Self.sample
        (empty.lastSample, empty.lastDisruption, empty.lastRestore, empty.reset, empty.chronyd) = (nil, nil, nil, nil, nil)
        #expect(try DaemonSnapshot(json: JSONValue(parsing: empty.json.text)) == empty)
        // chronyd with no sample of VMCK: no offset is made up for it.
        var noSample = Self.sample
        noSample.chronyd?.vmck?.latest = nil
        let noSampleText = noSample.json.text
        #expect(noSampleText.contains("\"offset_ns\" : null") && noSampleText.contains("\"sample_age_s\" : null"), "\(noSampleText)")
        #expect(try DaemonSnapshot(json: JSONValue(parsing: noSampleText)) == noSample)
        #expect(!noSample.metricsText.contains("vmclockd_chronyd_vmck_offset_seconds"))
        #expect(Self.sample.metricsText.contains("vmclockd_chronyd_vmck_offset_seconds"))
    }

    /// jq 1.6 and JavaScript read JSON numbers as doubles: markers and ns
    /// timestamps are decimal strings since schema 2, and a file schema 1
    /// wrote (numbers: a daemon still running during an upgrade) still reads.
    @Test func markersAndTimestampsAreExactStringsAndSchemaOneStillReads() throws {
        let text = Self.sample.json.text
        #expect(text.contains("\"schema\" : 2"))
        #expect(text.contains("\"disruption_marker\" : \"18446744073709551615\""), "\(text)")
        #expect(text.contains("\"marker\" : \"18446744073709551615\""))
        #expect(text.contains("\"unix_ns\" : \"1796000100000000000\""))
        #expect(text.contains("\"monotonic_ns\" : \"100000000000\""))
        // Schema 1: the same document with every one of them a bare number.
        var schemaOne = text.replacingFirst("\"schema\" : 2", with: "\"schema\" : 1")
            .replacingFirst("\"host_steps\" : 2,", with: "")
        for quoted in Set(text.split(separator: "\"").filter { !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
            schemaOne = schemaOne.replacingOccurrences(of: "\"\(quoted)\"", with: String(quoted))
        }
        #expect(!schemaOne.contains("\"18446744073709551615\""))
        var beforeHostSteps = Self.sample
        beforeHostSteps.hostSteps = 0
        #expect(!schemaOne.contains("host_steps"))
        #expect(try DaemonSnapshot(json: JSONValue(parsing: schemaOne)) == beforeHostSteps)
    }

    /// Host steps: a status field, and a counter whose name says "step".
    @Test func hostStepsArePublishedAndCounted() throws {
        #expect(Self.sample.json.text.contains("\"host_steps\" : 2"), "\(Self.sample.json.text)")
        #expect(Self.sample.metricsText.contains("\nvmclockd_host_steps_total 2\n"), "\(Self.sample.metricsText)")
        #expect(Self.sample.metricsText.contains("# TYPE vmclockd_host_steps_total counter"))
    }

    @Test func anotherSchemaIsRefusedByName() throws {
        let text = Self.sample.json.text.replacingFirst("\"schema\" : 2", with: "\"schema\" : 7")
        #expect(throws: JSONValue.Mismatch.self) { try DaemonSnapshot(json: JSONValue(parsing: text)) }
        let missing = Self.sample.json.text.replacingFirst("\"looks\"", with: "\"lookz\"")
        do {
            _ = try DaemonSnapshot(json: JSONValue(parsing: missing))
            Issue.record("a missing key was accepted")
        } catch let error as JSONValue.Mismatch {
            #expect(error.path == "looks" && error.problem == "missing")
        }
    }

    @Test(arguments: [
        "", "{", "{\"a\":1", "{\"a\":1}x", "{\"a\":1,\"a\":2}", "{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":01}",
        "{\"a\":\"\\q\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u+123\"}", "{\"a\":\"\u{1}\"}",
        "[1,]", "[1 2]", "{a:1}", "tru", "nul", "-", "99999999999999999999999999999999999999999999",
        String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
    ])
    func malformedTextIsRefused(_ text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: text) }
    }

    @Test func escapesAndSurrogatePairsAreRead() throws {
        let value = try JSONValue(parsing: #"{"k" : ["\"\\\/\b\f\n\r\t", "\u00e9\ud83d\ude00", -12, true, false, null, {}, []]}"#)
        #expect(value == .object(["k": .array([
            .string("\"\\/\u{8}\u{C}\n\r\t"), .string("é😀"), .integer(-12), .bool(true), .bool(false), .null, .object([:]), .array([]),
        ])]))
        // What the writer escapes comes back.
        let awkward = JSONValue.string("\u{1}\u{1F}\"\\\n é😀")
        #expect(try JSONValue(parsing: awkward.text) == awkward)
    }

    @Test func everyHoldReasonHasAMetricLabel() {
        let error = DeviceError.absent(path: "/x")
        let reasons: [HoldReason] = [
            .deviceUnavailable(error), .deviceFailing(error), .pageInvalid(.badMagic(0)), .busy, .noTime(nil),
            .clockStatus(.unknown), .noErrorBound, .boundAbovePromise(boundNanoseconds: 1, promiseNanoseconds: 0), .calibrating,
            .periodDisagrees(ppm: 1, tolerancePPM: 0), .leapSecond, .resetPending, .settling, .tscUnstable,
        ]
        #expect(Set(reasons.map(\.kind)) == Set(HoldReason.kinds))
        #expect(reasons.count == HoldReason.kinds.count)
    }

    @Test func theProcessStartIsField22EvenWithParenthesesInTheName() {
        let fields3to21 = (3...21).map { "\($0 * 10)" }.joined(separator: " ")
        #expect(ProcessIdentity.startTicks(stat: "77 (a) b) (c) \(fields3to21) 987654 23 24") == 987_654)
        #expect(ProcessIdentity.startTicks(stat: "77 (short) 1 2") == nil)
        let me = ProcessIdentity.current()
        #expect(me != nil && me!.isRunning)
        #expect(!ProcessIdentity(pid: me!.pid, startTicks: me!.startTicks + 1).isRunning, "a reused pid is another process")
    }

    @Test func metricsEscapeLabelsAndPrintIntegersWhole() {
        #expect(MetricsWriter.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
        #expect(MetricsWriter.format(3) == "3")
        #expect(MetricsWriter.format(1.5e-6) == "1.5e-06")
        #expect(Double(MetricsWriter.format(1_796_000_000.123_456)) == 1_796_000_000.123_456)
    }

    @Test func theRecorderTiesAResetToItsDisruption() {
        var recorder = StateRecorder(started: Self.moment(0))
        recorder.published()
        recorder.note(.disruption(.snapshotRestore, oldMarker: 1, newMarker: 2, generation: 5, whileAway: false), resetNumber: 1, at: Self.moment(10))
        #expect(recorder.changed)
        #expect(recorder.reset == .init(disruption: 1, requestedAt: Self.moment(10), acknowledgedAt: nil))
        #expect(recorder.lastRestore == Self.moment(10))
        recorder.note(.disruption(.migration, oldMarker: 2, newMarker: 3, generation: 5, whileAway: false), resetNumber: 2, at: Self.moment(11))
        // An acknowledgement for the first disruption does not cover the second.
        recorder.resetAcknowledged(disruption: 1, at: Self.moment(12))
        #expect(recorder.reset?.acknowledgedAt == nil)
        recorder.resetAcknowledged(disruption: 2, at: Self.moment(13))
        #expect(recorder.reset?.acknowledgedAt == Self.moment(13))
        #expect(recorder.disruptions == ["snapshot-restore": 1, "migration": 1])
    }

    /// What is published at once rather than at the next refresh: chronyd
    /// taking or dropping VMCK, reaching or losing it, and the first answer
    /// since the state began (the one `wait` needs).
    @Test func chronydsAnswerIsAChangeWhenItMattersToAReader() {
        func view(asked: Int64, selected: Bool, unreachable: String? = nil) -> DaemonSnapshot.Chronyd {
            let vmck = DaemonSnapshot.Chronyd.Source(state: selected ? "selected" : "selectable", latest: nil)
            return .init(askedAt: Self.moment(asked), unreachable: unreachable, vmck: unreachable == nil ? vmck : nil)
        }
        var recorder = StateRecorder(started: Self.moment(0))
        /// Hands the recorder one answer: whether it is published at once
        /// (then it is, as the loop would).
        func isChange(_ answer: DaemonSnapshot.Chronyd) -> Bool {
            recorder.chronyd(answer)
            defer { recorder.published() }
            return recorder.changed
        }
        #expect(isChange(view(asked: 1, selected: true)), "the first answer")
        #expect(!isChange(view(asked: 2, selected: true)), "the same answer again waits for the refresh")
        #expect(isChange(view(asked: 3, selected: false)), "VMCK dropped")
        #expect(isChange(view(asked: 4, selected: false, unreachable: "no reply")), "chronyd lost")
        #expect(isChange(view(asked: 5, selected: true)), "chronyd back, VMCK selected")

        recorder.note(.stateChanged(from: .holding(.busy), to: .tracking), resetNumber: 0, at: Self.moment(6))
        recorder.published()
        #expect(!isChange(view(asked: 5, selected: true)), "asked before the state began: not what wait needs")
        #expect(isChange(view(asked: 7, selected: true)), "the first answer asked since tracking began, VMCK still selected")
        #expect(!isChange(view(asked: 8, selected: true)))
    }

    /// `status` words chronyd's view as its state and whether it has a
    /// sample ("VMCK nonselectable, no sample of it yet"): a change of either
    /// is published at once, so those words are never older than the answer
    /// behind them; numbers that move with every answer wait for the refresh.
    @Test func chronydsAnswerIsAChangeWhenWhatStatusSaysOfItChanges() {
        func view(asked: Int64, state: String, offset: Int64?) -> DaemonSnapshot.Chronyd {
            let latest = offset.map {
                DaemonSnapshot.Chronyd.Source.Latest(offsetNanoseconds: $0, measuredOffsetNanoseconds: $0, errorNanoseconds: 9, ageSeconds: 1)
            }
            return .init(askedAt: Self.moment(asked), unreachable: nil, vmck: .init(state: state, latest: latest))
        }
        var recorder = StateRecorder(started: Self.moment(0))
        func isChange(_ answer: DaemonSnapshot.Chronyd) -> Bool {
            recorder.chronyd(answer)
            defer { recorder.published() }
            return recorder.changed
        }
        #expect(isChange(view(asked: 1, state: "nonselectable", offset: nil)), "the first answer")
        #expect(!isChange(view(asked: 2, state: "nonselectable", offset: nil)))
        #expect(isChange(view(asked: 3, state: "nonselectable", offset: 3_200_000)), "chronyd's first sample of VMCK")
        #expect(!isChange(view(asked: 4, state: "nonselectable", offset: 3_200_400)), "only the offset moved")
        #expect(isChange(view(asked: 5, state: "selectable", offset: 3_200_400)), "another selection state, VMCK still not selected")
        #expect(isChange(view(asked: 6, state: "selectable", offset: nil)), "its samples dropped (a reset)")
        #expect(isChange(.init(askedAt: Self.moment(7), unreachable: nil, vmck: nil)), "VMCK gone from chronyd's sources")
    }

    @Test func chronydOffsetsFarOutOfRangeAreClampedNotTrapped() {
        #expect(nanoseconds(.nan, .up) == 0)
        #expect(nanoseconds(1e300, .up) == .max)
        #expect(nanoseconds(-1e300, .down) == .min)
        #expect(nanoseconds(-0.0032, .toNearestOrAwayFromZero) == -3_200_000)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
