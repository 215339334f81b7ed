import BigInt
import PropertyBased
import Testing
import VMClockPage

private let day: UInt64 = 86_400_000_000_000
private let reach: UInt64 = 1 << 48

/// Random valid synchronized UTC pages with every error bound valid.
private let randomPages = zip(
    Gen.uint8(in: 0...63), Gen.uint64(in: 1...UInt64.max), Gen.uint64(in: reach...(UInt64.max - reach)),
    Gen.uint64(in: 0...(1 << 40)), Gen.uint64(), Gen.uint64(), Gen.uint64(),
    Gen.uint64(in: 0...day), Gen.uint64(in: 0...day)
).map { t in
    var s = PageSpec()
    s.shift = t.0
    s.period = t.1
    s.counterValue = t.2
    s.timeSec = t.3
    s.timeFrac = t.4
    s.periodMaxerrorRate = t.5 % t.1  // below the period
    s.periodEsterrorRate = t.6 % t.1
    s.timeMaxerrorNs = max(t.7, t.8)
    s.timeEsterrorNs = min(t.7, t.8)
    s.flags = PageSpec.allErrorsValid
    return s
}

/// Ticks after and before counter_value.
private let randomDeltas = zip(Gen.uint64(in: 0...reach), Gen.uint64(in: 1...reach))

@Suite struct PropertyTests {
    @Test func timeAndBoundsEqualTheExactReference() async throws {
        var withTime = 0, inexactBefore = 0, saturated = 0, unsaturated = 0
        await propertyCheck(count: 600, input: randomPages, randomDeltas) { s, d in
            // How often the generator hits the cases that matter: a reading
            // before counter_value whose delta is not a whole unit (where
            // rounding the wrong way shows), and bounds on both sides of saturation.
            if BigInt(d.1) * BigInt(s.period) % (BigInt(1) << Int(s.shift)) != 0 { inexactBefore += 1 }
            let data: ClockData
            do { data = try s.clockData() } catch {
                Issue.record("valid page rejected: \(error)")
                return
            }
            for counter in [s.counterValue + d.0, s.counterValue - d.1] {
                let expected = Ref.utc(s, counter: counter)
                let utc = data.utc(atCounter: counter)
                #expect(utc == expected, "counter \(counter) of \(s)")
                #expect(data.pageTime(atCounter: counter) == expected)
                if let utc {
                    withTime += 1
                    #expect(utc.nanoseconds == Ref.nanoseconds(ofFraction: utc.fraction))
                }
                if Ref.maxError(s, counter: counter) == .max { saturated += 1 } else { unsaturated += 1 }
                #expect(data.maxErrorNanoseconds(atCounter: counter) == Ref.maxError(s, counter: counter))
                #expect(data.estErrorNanoseconds(atCounter: counter) == Ref.estError(s, counter: counter))
            }
        }
        #expect(withTime >= 300, "the generator must mostly give pages with a time (got \(withTime))")
        #expect(inexactBefore >= 100, "got \(inexactBefore)")
        #expect(saturated >= 20 && unsaturated >= 300, "got \(saturated) saturated, \(unsaturated) not")
    }

    @Test func ticksToNanosecondsIsCeilingSaturating() async {
        await propertyCheck(count: 600, input: Gen.uint8(in: 0...63), Gen.uint64(), Gen.uint64(), Gen.bool) {
            shift, ticks, units, small in
            var s = PageSpec()
            s.shift = shift
            let data = try s.clockData()
            let t = small ? ticks >> 40 : ticks  // also cover the non-saturated range
            #expect(data.ticksToNanoseconds(t, unitsPerTick: units) == Ref.ticksToNs(BigInt(t), units: units, shift: shift))
        }
    }

    @Test func compareMatchesTheExactReference() async {
        let brackets = zip(Gen.int64(in: -Int64(reach)...Int64(reach)), Gen.uint64(in: 0...(1 << 32)),
                           Gen.int64(in: -5...5), Gen.uint64(in: 0...511))
        await propertyCheck(count: 500, input: randomPages, brackets) { s, b in
            let data = try s.clockData()
            let before = UInt64(bitPattern: Int64(bitPattern: s.counterValue) &+ b.0)
            let bracket0 = CounterBracket(counterBefore: before, counterAfter: before + b.1,
                                          system: Timestamp(seconds: 0, fraction: 0))
            let midpoint = before + b.1 / 2
            guard let utc = Ref.utc(s, counter: midpoint) else {
                #expect(data.compare(with: bracket0) == nil)
                return
            }
            // System clock within seconds of the page, on a whole nanosecond.
            let system = Timestamp(seconds: max(0, utc.seconds + b.2), fraction: b.3 << 55)
            let bracket = CounterBracket(counterBefore: before, counterAfter: before + b.1, system: system)
            let c = try #require(data.compare(with: bracket))
            #expect(c.counter == midpoint)
            #expect(c.utc == utc)
            #expect(BigInt(c.offsetNanoseconds) == Ref.differenceNanoseconds(utc, system))
            #expect(c.pageMaxErrorNanoseconds == Ref.maxError(s, counter: midpoint))
            // The bound with the read covers the worst true time the page
            // allows at the read, and, where the bracket is past
            // counter_value (the worst case then is the bound's own sum),
            // by no more than the roundings: three ceilings and the floor of
            // the midpoint's time, under 4 ns.
            let bound = try #require(c.offsetMaxErrorNanoseconds)
            let worst = Ref.worstReadError(s, before: before, after: before + b.1, reported: c.utc)
            let denominator = BigInt(1) << (64 + Int(s.shift))
            guard bound < .max else { return }  // saturated: "unbounded", whatever the worst
            #expect(BigInt(bound) * denominator >= worst, "bound \(bound) ns below the worst \(worst / denominator) ns")
            if midpoint >= s.counterValue {
                #expect(BigInt(bound) * denominator < worst + 4 * denominator, "bound \(bound) ns, worst \(worst / denominator) ns")
            }
            #expect(c.pageEstErrorNanoseconds == Ref.estError(s, counter: midpoint))
        }
    }
}
