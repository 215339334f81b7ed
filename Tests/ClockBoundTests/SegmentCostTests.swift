#if canImport(Glibc)
import Glibc
#endif
import CAllocationCount
import ClockBoundProtocol
import DaemonPublication
import Testing
import VMClockAccess

/// The daemon writes the segment at every sample: once open, a write and
/// the coarse clock it is stamped with allocate nothing. Counted by
/// CAllocationCount's malloc (linked into the test process), for this
/// thread only, so tests running beside it do not count.
@Suite struct SegmentCostTests {
    @Test func theCounterCountsThisThreadsAllocations() {
        let before = vmclockd_thread_allocation_count()
        let array = [Int](repeating: 1, count: Int.random(in: 100...200))
        withExtendedLifetime(array) {}
        #expect(vmclockd_thread_allocation_count() > before)
    }

    @Test func tenThousandWritesAllocateNothing() throws {
        let rig = try SegmentRig()
        let file = rig.file
        var body = SegmentFiles.body
        #expect(file.write(body, now: 0))
        let before = vmclockd_thread_allocation_count()
        var written = 0
        for i in 1...10_000 {
            let now = SystemClock.monotonicCoarseNanoseconds()
            body.asOf = CoarseInstant(nanoseconds: now)
            body.boundNanoseconds = Int64(i)
            if file.write(body, now: now) { written += 1 }
        }
        let allocations = vmclockd_thread_allocation_count() - before
        #expect(written == 10_000)
        #expect(allocations == 0)
        #expect(SegmentFiles.generation(rig.path) == 20_002)
    }

    /// The coarse clock lags the fine one by at most its tick, never leads.
    @Test func theCoarseClockIsMonotonicAndNeverAheadOfMonotonic() {
        let resolution = SystemClock.monotonicCoarseResolutionNanoseconds
        #expect(resolution > 0 && resolution <= 1_000_000_000, "\(resolution) ns")
        var last = SystemClock.monotonicCoarseNanoseconds()
        for _ in 0..<1000 {
            let coarse = SystemClock.monotonicCoarseNanoseconds()
            let fine = SystemClock.monotonicNanoseconds()
            #expect(coarse >= last && coarse <= fine)
            last = coarse
        }
    }
}
