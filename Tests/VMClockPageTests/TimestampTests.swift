import BigInt
import PropertyBased
import Testing
import VMClockPage

@Suite struct TimestampTests {
    @Test(arguments: [
        (0, 0), (1, 0), (1 << 63, 500_000_000), (3 << 62, 750_000_000),
        (UInt64.max, 999_999_999), (1 << 55, 1_953_125), ((1 << 55) - 1, 1_953_124),
    ] as [(UInt64, Int64)])
    func nanosecondsHandValues(fraction: UInt64, expected: Int64) {
        #expect(Timestamp(seconds: 7, fraction: fraction).nanoseconds == expected)
        #expect(Ref.nanoseconds(ofFraction: fraction) == expected, "reference agrees")
    }

    @Test func nanosecondsIsFlooredExactlyForRandomFractions() async {
        await propertyCheck(count: 1000, input: Gen.uint64()) { f in
            #expect(Timestamp(seconds: 0, fraction: f).nanoseconds == Ref.nanoseconds(ofFraction: f))
        }
    }

    @Test func nanosecondsSinceEpoch() {
        #expect(Timestamp(seconds: 1, fraction: .max).nanosecondsSinceEpoch == 1_999_999_999)
        // Int64.max ns = 9_223_372_036 s + 854_775_807 ns.
        let last = UInt64(Ref.ceilDiv(BigInt(854_775_807) << 64, Ref.billion))
        let beyond = UInt64(Ref.ceilDiv(BigInt(854_775_808) << 64, Ref.billion))
        #expect(Timestamp(seconds: 9_223_372_036, fraction: last).nanosecondsSinceEpoch == .max)
        #expect(Timestamp(seconds: 9_223_372_036, fraction: beyond).nanosecondsSinceEpoch == nil)
        #expect(Timestamp(seconds: 9_223_372_037, fraction: 0).nanosecondsSinceEpoch == nil)
    }

    @Test func descriptionAndOrder() {
        #expect(Timestamp(seconds: 5, fraction: 0).description == "5.000000000")
        #expect(Timestamp(seconds: 1, fraction: .max).description == "1.999999999")
        #expect(Timestamp(seconds: 1, fraction: 1 << 63).description == "1.500000000")
        #expect(Timestamp(seconds: 1, fraction: .max) < Timestamp(seconds: 2, fraction: 0))
        #expect(Timestamp(seconds: 2, fraction: 1) > Timestamp(seconds: 2, fraction: 0))
    }

    @Test func differenceOfWholeNanosecondTimestamps() {
        let a = Timestamp(seconds: 10, fraction: 1 << 63)  // 10.5 s
        let b = Timestamp(seconds: 12, fraction: 1 << 62)  // 12.25 s
        #expect(a.nanoseconds(since: b) == -1_750_000_000)
        #expect(b.nanoseconds(since: a) == 1_750_000_000)
    }
}
