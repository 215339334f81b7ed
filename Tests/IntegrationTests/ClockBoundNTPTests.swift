import Foundation
import PeerHarness
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// A page without clock data, as on today's hosts: the bound is
    /// chronyd's, and only once chronyd has resynchronised after the reset.
    /// chronyd synchronises to a second private chronyd serving NTP on
    /// loopback (`local stratum 1`; both -x, nothing touches the clock).
    @Suite(.enabled(if: ChronyProcess.isAvailable, "needs root and /usr/sbin/chronyd"))
    struct ClockBoundNTP {
        /// The NTP server and a rig whose chronyd uses it as its only server.
        static func rig() throws -> (server: ChronyProcess, rig: Rig, serverDirectory: TemporaryDirectory) {
            let directory = try TemporaryDirectory()
            let port = try freeUDPPort()
            let server = try ChronyProcess(
                directory: directory.url.path, refclockOptions: ["noselect"],
                extraLines: ["port \(port)", "bindaddress 127.0.0.1", "allow 127.0.0.1", "local stratum 1"])
            let rig = try Rig(
                page: ["counter_id=invalid"], chronyd: .selectable, relay: false, interval: 0.0625,
                chronydLines: ["server 127.0.0.1 port \(port) iburst minpoll -6 maxpoll -6"])
            return (server, rig, directory)
        }

        @Test func synchronizedFromChronydDisruptedAtOnceAndUntilChronydHasResynchronised() throws {
            let (server, rig, directory) = try Self.rig()
            defer {
                rig.stop()
                server.stop()
                directory.remove()
            }
            let segment = try #require(rig.daemon.segmentPath)
            let chronyd = try #require(rig.chronyd)
            let before = ClockBoundRun.reads(segment, within: 30) { $0.status == SegmentRead.synchronized }
            let synchronized = try #require(before.last, "\(rig.report)\n\(chronyd.log)")
            try #require(synchronized.status == SegmentRead.synchronized, "\(before)\n\(rig.report)\n\(chronyd.log)")
            // ClockBound's formula from chronyd's tracking, as chronyc prints it (within its rounding).
            let row = try #require(chronyd.tracking())
            let formula = (row.rootDelaySeconds / 2 + row.rootDispersionSeconds + abs(row.systemTimeSeconds)) * 1e9
            #expect(Double(synchronized.bound) >= formula * 0.5 && synchronized.bound > 0, "\(synchronized) vs \(row)")
            let view = try #require(published(rig) { $0.state?.clockBound?.status == "synchronized" })
            #expect(view.state?.clockBound?.reason == "chronyd")

            let logBefore = chronyd.log.count
            let ack = try rig.simulator.send("disrupt")
            let marker = try #require(ack["marker"].flatMap(UInt64.init))
            let after = ClockBoundRun.reads(segment, within: 30) { $0.status == SegmentRead.synchronized && $0.marker == marker }
            let resumed = try #require(after.last)
            try #require(resumed.status == SegmentRead.synchronized && resumed.marker == marker, "\(after)\n\(rig.report)")
            let first = try #require(after.firstIndex { $0.status == SegmentRead.disrupted }, "never Disrupted: \(after)")
            for read in after[first...] {
                #expect(read.marker == marker && [SegmentRead.disrupted, SegmentRead.synchronized].contains(read.status), "\(read)")
            }
            // Synchronized again only once chronyd has resynchronised after the
            // reset: by the first read that says so, chronyd's own log shows it
            // lost its source to the reset and selected one again. (A later
            // tracking report is no witness: chronyd 4.3's reference time can
            // step back after a reselection, 31.39 → 31.00 s in one run.)
            let sinceDisruption = String(chronyd.log.dropFirst(logBefore))
            let lost = try #require(sinceDisruption.range(of: "Can't synchronise: no selectable sources"), "\(sinceDisruption)\n\(rig.report)")
            #expect(sinceDisruption[lost.upperBound...].contains("Selected source 127.0.0.1"), "\(sinceDisruption)\n\(rig.report)")
        }

        @Test func chronydUnsynchronisedIsUnknown() throws {
            // No server: chronyd never synchronises.
            let rig = try Rig(page: ["counter_id=invalid"], chronyd: .selectable, relay: false, interval: 0.0625)
            defer { rig.stop() }
            let view = try #require(published(rig) { $0.state?.clockBound?.reason == "chronyd-unsynchronised" }, "\(rig.report)")
            #expect(view.state?.clockBound?.status == "unknown" && view.state?.clockBound?.bound == nil)
            let segment = try #require(rig.daemon.segmentPath)
            let read = try #require(SegmentRead.read(segment))
            #expect(read.status == SegmentRead.unknown && read.bound == 0 && read.disruptionSupport == 1, "\(read)")
        }
    }
}

/// A UDP port on 127.0.0.1 free a moment ago (the kernel's choice).
func freeUDPPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    try #require(bound)
    return UInt16(bigEndian: address.sin_port)
}
