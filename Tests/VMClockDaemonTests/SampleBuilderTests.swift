import Testing
import ChronyClients
import ChronyProtocol
import DaemonCore
import VMClockPage

@Suite struct Samples {
    func clock(_ s: Scenario) throws -> ClockData {
        let bytes = s.image.encode() + [UInt8](repeating: 0, count: 4096 - PageLayout.structureSize)
        let page = try bytes.withUnsafeBytes { try VMClockPage(bytes: $0) }
        return try page.clockData(nativeCounter: Scenario.nativeCounter)
    }

    /// The page is 3.199211 ms ahead of the system clock read inside the
    /// bracket: that is the offset, whatever instant the µs timeval names.
    @Test func offsetIsTheExactOneWhateverTheTimevalTruncates() throws {
        var s = Scenario()
        s.image.timeSec = 1_800_000_000
        s.image.timeFracSec = 0
        s.image.counterValue = 1_000_000
        let system = Timestamp(seconds: 1_799_999_999, nanoseconds: 996_800_789)  // page − 3.199211 ms
        let bracket = CounterBracket(counterBefore: 1_000_000, counterAfter: 1_000_000, system: system)
        let built = try SampleBuilder.build(clock: clock(s), bracket: bracket, configuration: s.core.configuration).get()
        #expect(built.sample.systemSeconds == 1_799_999_999)
        #expect(built.sample.systemMicroseconds == 996_800)
        // chronyd reads true time = tv + offset = 1_799_999_999.999999211: the
        // page's time 789 ns before the read, which is when tv says it was.
        #expect(abs(built.sample.offsetSeconds - 0.003_199_211) < 1e-15)
        #expect(built.offsetNanoseconds == 3_199_211)
        #expect(built.sample.leap == .normal)
    }

    @Test func theReadUncertaintyCountsAgainstThePromise() throws {
        var s = Scenario { $0.maxError = 0.000_011 }  // 11 µs
        s.image.counterValue = 1_000_000
        s.image.timeMaxerrorNanosec = 10_000
        let system = Timestamp(seconds: 1_800_000_000, nanoseconds: 0)
        let tight = CounterBracket(counterBefore: 1_000_000, counterAfter: 1_000_100, system: system)  // ±50 ns
        #expect((try? SampleBuilder.build(clock: clock(s), bracket: tight, configuration: s.core.configuration).get()) != nil)
        let wide = CounterBracket(counterBefore: 1_000_000, counterAfter: 1_004_000, system: system)  // ±2 µs
        guard case .failure(.boundAbovePromise(let bound)) = SampleBuilder.build(clock: try clock(s), bracket: wide, configuration: s.core.configuration) else {
            Issue.record("a sample whose bound with the read exceeds the promise went out")
            return
        }
        #expect(bound > 11_000)
    }

    @Test func theSampleIsExactlyWhatChronydReads() {
        let sample = SockSample(systemSeconds: 1_800_000_000, systemMicroseconds: 123_456, offsetSeconds: -0.25, leap: .insertSecond)
        let bytes = sample.encode()
        #expect(bytes.count == 40)
        bytes.withUnsafeBytes { b in
            #expect(b.load(fromByteOffset: 0, as: Int.self) == 1_800_000_000)
            #expect(b.load(fromByteOffset: 8, as: Int.self) == 123_456)
            #expect(b.load(fromByteOffset: 16, as: Double.self) == -0.25)
            #expect(b.load(fromByteOffset: 24, as: Int32.self) == 0)  // pulse
            #expect(b.load(fromByteOffset: 28, as: Int32.self) == 1)  // leap: insert
            #expect(b.load(fromByteOffset: 36, as: UInt32.self) == 0x534f_434b)
        }
    }
}
