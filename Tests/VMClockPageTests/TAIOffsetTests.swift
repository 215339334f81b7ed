import Testing
import VMClockPage

/// A TAI page 37 s ahead of UTC 1_700_000_000.25.
private func taiSpec(offset: Int16, flagValid: Bool = true) -> PageSpec {
    var s = PageSpec()
    s.timeType = 1
    s.taiOffsetSec = offset
    s.flags = flagValid ? PageSpec.taiOffsetValid : 0
    s.timeSec = 1_700_000_037
    s.timeFrac = 1 << 62
    return s
}

struct TAICase: Sendable, CustomTestStringConvertible {
    let offset: Int16
    let policy: TAIOffsetPolicy
    /// nil: the policy must reject the page.
    let convention: TAIOffsetConvention?
    var testDescription: String { "\(offset) under \(policy.rawValue)" }
}

@Suite struct TAIOffsetTests {
    @Test(arguments: [
        TAICase(offset: -37, policy: .automatic, convention: .utcMinusTAI),
        TAICase(offset: -37, policy: .utcMinusTAI, convention: .utcMinusTAI),
        TAICase(offset: -37, policy: .taiMinusUTC, convention: nil),
        TAICase(offset: 37, policy: .automatic, convention: .taiMinusUTC),
        TAICase(offset: 37, policy: .taiMinusUTC, convention: .taiMinusUTC),
        TAICase(offset: 37, policy: .utcMinusTAI, convention: nil),
    ])
    func bothSignConventions(_ c: TAICase) throws {
        let s = taiSpec(offset: c.offset)
        let page = try s.decode()
        guard let convention = c.convention else {
            #expect(try clockDataError(s, policy: c.policy) == .implausibleTAIOffset(c.offset, c.policy))
            let assessment = PageAssessment(page: page, nativeCounter: .x86TSC, taiPolicy: c.policy)
            #expect(assessment.verdict == .unusable)
            #expect(assessment.clockData == nil)
            #expect(assessment.reason?.contains("tai_offset_sec") == true)
            return
        }
        let data = try page.clockData(nativeCounter: .x86TSC, taiPolicy: c.policy)
        #expect(data.taiOffsetConvention == convention)
        #expect(data.utcAdjustmentSeconds == -37, "37 s of TAI − UTC either way")
        #expect(data.pageTime(atCounter: s.counterValue) == Timestamp(seconds: 1_700_000_037, fraction: 1 << 62))
        #expect(data.utc(atCounter: s.counterValue) == Timestamp(seconds: 1_700_000_000, fraction: 1 << 62))
    }

    @Test(arguments: [-100, -10, 10, 100] as [Int16])
    func plausibleBoundariesAccepted(offset: Int16) throws {
        let data = try taiSpec(offset: offset).clockData()
        #expect(data.utcAdjustmentSeconds == -Int64(abs(offset)))
    }

    @Test(arguments: [-101, -9, 0, 9, 101] as [Int16])
    func implausibleBoundariesRejected(offset: Int16) throws {
        #expect(try clockDataError(taiSpec(offset: offset)) == .implausibleTAIOffset(offset, .automatic))
    }

    @Test func taiBeforeUTCEpochGivesNoUTC() throws {
        var s = taiSpec(offset: -37)
        s.timeSec = 20
        let data = try s.clockData()
        #expect(data.pageTime(atCounter: s.counterValue) == Timestamp(seconds: 20, fraction: 1 << 62))
        #expect(data.utc(atCounter: s.counterValue) == nil)
    }

    @Test func policyConventionTable() {
        #expect(TAIOffsetPolicy.automatic.convention(forRawOffset: -37) == .utcMinusTAI)
        #expect(TAIOffsetPolicy.automatic.convention(forRawOffset: 37) == .taiMinusUTC)
        #expect(TAIOffsetPolicy.utcMinusTAI.convention(forRawOffset: 37) == nil)
        #expect(TAIOffsetPolicy.taiMinusUTC.convention(forRawOffset: -37) == nil)
        #expect(TAIOffsetPolicy.automatic.convention(forRawOffset: .min) == nil)
        #expect(TAIOffsetConvention.utcMinusTAI.utcMinusTAI(-37) == -37)
        #expect(TAIOffsetConvention.taiMinusUTC.utcMinusTAI(37) == -37)
    }
}
