import Foundation
import TestSupport
import PeerHarness
import Testing

extension LiveDevice {
    /// The published sample counters are counters: Prometheus reads any
    /// decrease as a reset of the process. The path that once made one go
    /// down is a sample computed from a page the host rewrote before the send
    /// (`unsent`): a simulator that rewrites its page every 50 µs takes it
    /// at a good share of the looks. Under emulation a look takes longer
    /// than 50 µs, so every sample was unsent and none sent (seen): there
    /// the page is rewritten every millisecond.
    @Suite struct SampleCounts {
        @Test func unsentNeverGoesDownWhenThePageChangesUnderASample() throws {
            let updateIntervalMilliseconds = underEmulation ? 1 : 0.05
            let rig = try Rig(
                page: ["update_interval_ms=\(updateIntervalMilliseconds)"], chronyd: .none, relay: true, interval: 0.0625)
            defer { rig.stop() }
            try #require(rig.daemon.waitForLog(containing: "→ tracking", within: 20) != nil, "\(rig.report)")
            var history: [(sent: Double, unsent: Double)] = []
            // Publications come once a second: read each one until both kinds
            // of sample were counted and the counts moved several times.
            let seen = eventually(within: 30, every: 0.2) {
                guard let text = try? String(contentsOfFile: rig.daemon.metricsFilePath, encoding: .utf8),
                      let metrics = try? parseMetrics(text),
                      let sent = metrics["vmclockd_samples_total{outcome=\"sent\"}"],
                      let unsent = metrics["vmclockd_samples_total{outcome=\"unsent\"}"]
                else { return false }
                if history.last.map({ $0 != (sent, unsent) }) ?? true { history.append((sent, unsent)) }
                return history.count >= 8 && unsent > 0 && sent > 0
            }
            #expect(seen, "published (sent, unsent): \(history)\n\(rig.report)")
            for (earlier, later) in zip(history, history.dropFirst()) {
                #expect(later.sent >= earlier.sent && later.unsent >= earlier.unsent, "a counter went down: \(history)")
            }
        }
    }
}
