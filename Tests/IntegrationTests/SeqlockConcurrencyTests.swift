import Foundation
import TestSupport
import PeerHarness
import Testing
import VMClockAccess
import VMClockPage
import VMClockSimulation

extension LiveDevice {
    /// A writer process rewrites the page continuously with self-checking
    /// contents (every field derived from disruption_marker); the reader
    /// must never return a page mixing two updates.
    @Suite(.serialized) struct SeqlockConcurrency {
        struct Case: CustomTestStringConvertible, Sendable {
            var allowMapping: Bool
            var writeDelayMicroseconds: Int
            /// A slow writer leaves gaps between updates, as a host does;
            /// back-to-back slow updates would starve any seqlock reader.
            var updateIntervalMilliseconds: Double { writeDelayMicroseconds == 0 ? 0 : 1 }
            var snapshots: Int
            var testDescription: String {
                "\(allowMapping ? "mmap" : "pread"), write delay \(writeDelayMicroseconds) µs, \(snapshots) snapshots"
            }
        }

        @Test(arguments: [
            Case(allowMapping: true, writeDelayMicroseconds: 0, snapshots: 100_000),
            Case(allowMapping: false, writeDelayMicroseconds: 0, snapshots: 20_000),
            Case(allowMapping: true, writeDelayMicroseconds: 1, snapshots: 3_000),
            Case(allowMapping: false, writeDelayMicroseconds: 1, snapshots: 1_000),
        ])
        func readerNeverSeesATornPage(_ c: Case) throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(
                page: dir.path("page"), settings: [
                    "mode=pattern", "write_delay_us=\(c.writeDelayMicroseconds)",
                    "update_interval_ms=\(c.updateIntervalMilliseconds)",
                ])
            defer { sim.stop() }
            let device = try VMClockDevice(path: sim.pagePath, allowMapping: c.allowMapping)
            #expect(device.readMethod == (c.allowMapping ? .mmap : .pread))

            var inconsistent = 0
            var markers = Set<UInt64>()
            // "Busy" (no consistent page within the timeout) is the reader
            // refusing to return a torn page, not a torn page: on a loaded
            // machine the writer can be descheduled mid-update for longer
            // than any timeout. It is counted, not failed, and bounded.
            var busy = 0
            var read = 0
            // Until the writer has visibly rewritten the page often enough,
            // too: on a loaded machine the reader can take its snapshots
            // while the writer waits for a CPU (seen: 97 markers in 100,000).
            // Bounded by a count of reads, never by time: when reader and
            // writer share one CPU, a read waits out the writer's time slice
            // (seen in CI: 1.7 ms a read, 70,289 reads in 120 s), and a
            // writer starved that long is what the cap is for.
            let readCap = 20 * c.snapshots
            while read < c.snapshots || markers.count <= c.snapshots / 1000, read < readCap,
                  busy <= c.snapshots {
                // A Result, not `catch SnapshotError.busy`: Swift 6.2's SILGen
                // (the arm64 build) fails on that pattern with typed throws.
                let page: VMClockPage
                switch Result(catching: { () throws(SnapshotError) in try device.snapshot(timeout: .seconds(2)) }) {
                case .success(let read): page = read
                case .failure(.busy):
                    busy += 1
                    continue
                case .failure(let error): throw error
                }
                read += 1
                if !TornWritePattern.isConsistent(page) { inconsistent += 1 }
                markers.insert(page.disruptionMarker)
            }
            #expect(read >= c.snapshots, "\(busy) busy snapshots")
            #expect(inconsistent == 0)
            // The writer really was rewriting the page while we read.
            #expect(markers.count > c.snapshots / 1000)
        }

        /// The negative control: the same slow writer, read *without* the
        /// seqlock, does produce torn pages. Without this the test above could
        /// pass because tearing never happened.
        @Test func readingWithoutTheSeqlockSeesTornPages() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"), settings: ["mode=pattern", "write_delay_us=1", "update_interval_ms=0"])
            defer { sim.stop() }
            let mapping = try RawMapping(path: sim.pagePath)
            var torn = 0
            for _ in 0..<20_000 {
                if let page = try? VMClockPage(bytes: mapping.bytes), !TornWritePattern.isConsistent(page) { torn += 1 }
                if torn > 10 { break }
            }
            #expect(torn > 10)
        }
    }
}
