import Foundation
import TestSupport
import PeerHarness
import Testing
import VMClockAccess
import VMClockPage

extension LiveDevice {
    @Suite struct DeviceLifecycle {
        @Test func absentDeviceIsReportedAsAbsent() {
            #expect(throws: DeviceError.absent(path: "/nonexistent/vmclock0")) {
                try VMClockDevice(path: "/nonexistent/vmclock0")
            }
        }

        @Test func fileShorterThanAPageHeaderIsRejected() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let path = dir.path("short")
            #expect(FileManager.default.createFile(atPath: path, contents: Data(count: 16)))
            #expect(throws: DeviceError.tooShort(path: path, bytes: 16)) { try VMClockDevice(path: path) }
        }

        @Test func stuckWriterGivesBusyWithinTheTimeoutThenRecovers() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"))
            defer { sim.stop() }
            let device = try VMClockDevice(path: sim.pagePath)
            try sim.send("stall")
            let started = ContinuousClock.now
            #expect {
                _ = try device.snapshot(timeout: .milliseconds(50))
            } throws: { error in
                guard case SnapshotError.busy(let seq, _) = error else { return false }
                return seq & 1 == 1
            }
            // Bounded: it gave up near the timeout, not much later.
            #expect(ContinuousClock.now - started < .seconds(1))
            let acknowledged = try sim.send("unstall")
            let page = try device.snapshot()
            #expect(page.seqCount & 1 == 0)
            #expect(String(page.disruptionMarker) == acknowledged["marker"])
        }

        @Test func deviceThatVanishesAndReappearsIsReopened() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"))
            defer { sim.stop() }
            let source = ReopeningDevice(path: sim.pagePath)
            let first = try source.device()
            #expect(try first.snapshot().size == 4096)

            try sim.send("remove")
            #expect(first.isReplaced)
            #expect(throws: DeviceError.absent(path: sim.pagePath)) { try source.device() }

            try sim.send("recreate")
            let afterMigration = try sim.send("disrupt")
            let second = try source.device()
            #expect(second !== first)
            #expect(String(try second.snapshot().disruptionMarker) == afterMigration["marker"])
        }

        @Test func snapshotFollowsTheWriter() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let sim = try SimulatorProcess(page: dir.path("page"))
            defer { sim.stop() }
            let device = try VMClockDevice(path: sim.pagePath)
            let before = try device.snapshot()
            let ack = try sim.send("restore")
            let after = try device.snapshot()
            #expect(String(after.disruptionMarker) == ack["marker"])
            #expect(after.disruptionMarker != before.disruptionMarker)
            #expect(after.vmGenerationCounter == (before.vmGenerationCounter ?? 0) + 1)
        }
    }
}
