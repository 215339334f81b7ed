import Foundation
import TestSupport
import PeerHarness
import Testing

@testable import ChronyClients
@testable import ChronyProtocol

#if canImport(Glibc)
import Glibc
#endif

extension LiveDevice {
    /// Both test peers: the host's chronyd 4.3 (Debian 12) and Debian 13's
    /// 4.6.1 from the root `.ci/trixie-chrony` makes (run chrooted, its test
    /// directory bind-mounted at the same path; see `ChronyProcess`). Each is
    /// skipped on its own when it cannot run here.
    @Suite struct ChronyPeerVersion {
        @Test(.enabled(if: ChronyProcess.isAvailable(.debian12), "needs root and /usr/sbin/chronyd"))
        func debian12PeerAnswersTrackingFromTheHost() throws {
            try expectTrackingAnswered(by: .debian12, version: "4.3")
        }

        @Test(.enabled(if: ChronyProcess.isAvailable(.debian13), "needs root and the Debian 13 root of .ci/trixie-chrony (bash .ci/deps)"))
        func debian13PeerAnswersTrackingFromTheHost() throws {
            try expectTrackingAnswered(by: .debian13, version: "4.6")
        }

        /// The bind mount lives exactly as long as chronyd runs: made by
        /// start(), gone (mount point too) after stop(), again for a restart,
        /// gone after crash(); the directory's files stay on the host side.
        @Test(.enabled(if: ChronyProcess.isAvailable(.debian13), "needs root and the Debian 13 root of .ci/trixie-chrony (bash .ci/deps)"))
        func debian13BindMountFollowsTheProcess() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let mountPoint = ChronyProcess.trixieRoot + dir.url.path
            let chronyd = try ChronyProcess(directory: dir.url.path, refclockOptions: ["noselect"], flavor: .debian13)
            defer { chronyd.stop() }
            #expect(isMountPoint(mountPoint))
            chronyd.stop()
            #expect(!isMountPoint(mountPoint))
            #expect(!FileManager.default.fileExists(atPath: mountPoint))
            #expect(FileManager.default.fileExists(atPath: chronyd.refclockPath), "the host's view of the directory")
            try chronyd.restart()
            #expect(isMountPoint(mountPoint))
            #expect(chronyd.runChronyc(["tracking"]).status == 0)
            chronyd.crash()
            #expect(!isMountPoint(mountPoint))
            #expect(!FileManager.default.fileExists(atPath: mountPoint))
        }

        /// A chronyd that refuses its config (a fatal error: it exits at once)
        /// takes its mount with it.
        @Test(.enabled(if: ChronyProcess.isAvailable(.debian13), "needs root and the Debian 13 root of .ci/trixie-chrony (bash .ci/deps)"))
        func debian13FailedStartLeavesNoMount() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let mountPoint = ChronyProcess.trixieRoot + dir.url.path
            #expect(throws: ChronyProcess.StartFailure.self) {
                _ = try ChronyProcess(directory: dir.url.path, extraLines: ["nosuchdirective 1"], flavor: .debian13)
            }
            #expect(!isMountPoint(mountPoint))
            #expect(!FileManager.default.fileExists(atPath: mountPoint))
        }

        /// `selectopts VMCK +noselect` / `-noselect` (REQ_MODIFY_SELECTOPTS)
        /// through the project's own client: 4.6 applies it (the root's
        /// chronyc `selectdata` shows the configured option), 4.3 answers
        /// "invalid command". No samples needed: the refclock is a source
        /// from the start.
        @Test(.enabled(if: ChronyProcess.isAvailable(.debian13), "needs root and the Debian 13 root of .ci/trixie-chrony (bash .ci/deps)"))
        func selectOptionsIsAppliedBy46() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path, flavor: .debian13)
            defer { chronyd.stop() }
            let client = try ControlClient(serverPath: chronyd.commandPath)

            /// The root chronyc's `-c selectdata` row of VMCK: state, name,
            /// auth, then the configured options n/p/t/r (`N`, `P`, `T`, `R`
            /// or `-`), a fifth one, then the effective ones.
            func configuredNoselect() -> Bool? {
                let row = chronyd.chronyc(["selectdata"], client: .debian13).split(separator: "\n")
                    .map { $0.split(separator: ",", omittingEmptySubsequences: false) }
                    .first { $0.count > 3 && $0[1] == "VMCK" }
                return row.map { $0[3] == "N" }
            }
            #expect(configuredNoselect() == false)
            #expect(try client.request(.selectOptions(refid: "VMCK", noselect: true)).status == .success)
            #expect(configuredNoselect() == true)
            #expect(try client.request(.selectOptions(refid: "VMCK", noselect: false)).status == .success)
            #expect(configuredNoselect() == false)
            #expect(throws: ControlFailure.refused(.selectOptions(refid: "NONE", noselect: true), .noSuchSource)) {
                try client.request(.selectOptions(refid: "NONE", noselect: true))
            }
            // The root's chronyc says the same as ours.
            let chronyc = chronyd.runChronyc(["selectopts", "VMCK", "+noselect"], csv: false, client: .debian13)
            #expect(chronyc.status == 0 && chronyc.stdout.contains("200 OK"), "\(chronyc)")
            #expect(configuredNoselect() == true)
        }

        @Test(.enabled(if: ChronyProcess.isAvailable(.debian12), "needs root and /usr/sbin/chronyd"))
        func selectOptionsIsAnInvalidCommandFor43() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path)
            defer { chronyd.stop() }
            let client = try ControlClient(serverPath: chronyd.commandPath)
            let command = ControlCommand.selectOptions(refid: "VMCK", noselect: true)
            #expect(throws: ControlFailure.refused(command, .invalid)) { try client.request(command) }
            #expect(chronyd.isRunning)
        }

        /// Starts a peer of `flavor`, checks which chronyd it is, and that the
        /// host's chronyc (4.3) and our ControlClient both get a tracking
        /// answer from it over the paths the host sees.
        private func expectTrackingAnswered(by flavor: ChronyFlavor, version: String) throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let chronyd = try ChronyProcess(directory: dir.url.path, refclockOptions: ["noselect"], flavor: flavor)
            defer { chronyd.stop() }
            #expect(chronyd.flavor == flavor)
            let reported = try #require(chronyd.chronydVersion, "chronyd --version of \(flavor)")
            #expect(reported == version || reported.hasPrefix(version + "."), "\(flavor) reports \(reported)")
            #expect(chronyd.log.contains("chronyd version \(reported) starting"), "\(chronyd.log)")

            let chronyc = chronyd.runChronyc(["tracking"])
            #expect(chronyc.status == 0, "\(chronyc)")
            // Nothing selected (noselect): no reference yet, stratum 0.
            let row = try #require(chronyd.tracking(), "chronyc -c tracking: \(chronyc)\n\(chronyd.log)")
            #expect(row.referenceID == 0 && row.stratum == 0, "\(row)")
            #expect(chronyd.chronyc(["tracking"], csv: false).contains("Reference ID"))

            let client = try ControlClient(serverPath: chronyd.commandPath)
            let reply = try client.request(.tracking)
            #expect(reply.status == .success)
            let tracking = try #require(reply.tracking)
            #expect(tracking.referenceID == 0, "\(tracking)")
        }
    }
}

/// Whether `path` is a mount point in this process's mount table.
private func isMountPoint(_ path: String) -> Bool {
    guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
    return table.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(4).first.map(String.init) == path }
}
