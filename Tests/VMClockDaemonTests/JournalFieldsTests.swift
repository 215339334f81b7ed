import Foundation
import Logging
import Synchronization
import Testing
import DaemonCore
import DaemonLoop
import VMClockService

@Suite struct JournalFields {
    /// What a journal entry looks like, captured instead of sent.
    final class Capture: Sendable {
        let entries = Mutex<[[String]]>([])
        var handler: JournalLogHandler { JournalLogHandler { fields in self.entries.withLock { $0.append(fields) } } }
        var last: [String] { entries.withLock { $0.last ?? [] } }
    }

    @Test func aDisruptionCarriesItsMessageIDStateAndIdentity() throws {
        var s = Scenario()
        s.startTracking()
        s.image.disruptionMarker = 99
        let effects = s.run(milliseconds: 10)
        let event = try #require(effects.compactMap { if case .log(let e) = $0, case .disruption = e { e } else { nil } }.first)

        let capture = Capture()
        let logger = Logger(label: "vmclockd") { _ in capture.handler }
        logger.warning("\(event.message)", metadata: DaemonLoop.JournalFields.fields(core: s.core, lastSent: nil, event: event))
        let fields = capture.last
        #expect(fields.contains("MESSAGE_ID=3a55088562bf4d02a70bb55342e57238"))
        #expect(fields.contains("PRIORITY=4"))
        #expect(fields.contains("SYSLOG_IDENTIFIER=vmclockd"))
        #expect(fields.contains("VMCLOCKD_STATE=holding/calibrating"))
        #expect(fields.contains("VMCLOCKD_DISRUPTION_MARKER=99"))
        #expect(fields.contains("VMCLOCKD_VM_GENERATION_COUNTER=7"))
        #expect(fields.contains { $0.hasPrefix("MESSAGE=disruption: disruption_marker changed") })
    }

    @Test func holdAndResumeHaveTheirOwnIDs() {
        #expect(DaemonEvent.stateChanged(from: .tracking, to: .holding(.busy)).messageID == .hold)
        #expect(DaemonEvent.stateChanged(from: .holding(.settling), to: .tracking).messageID == .resume)
        #expect(DaemonEvent.maintenanceAnnounced(.disruptionSoon).messageID == .maintenance)
        #expect(Set(MessageID.allCases.map(\.rawValue)).count == MessageID.allCases.count)
    }

    @Test(arguments: [(Logger.Level.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2)])
    func prioritiesAreSyslogs(_ level: Logger.Level, _ priority: Int) {
        #expect(JournalLogHandler.priority(level) == priority)
    }

    @Test func everyMessageIDIsInTheCatalog() throws {
        let catalog = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("packaging/vmclockd.catalog")
        let text = try String(contentsOf: catalog, encoding: .utf8)
        for id in MessageID.allCases {
            #expect(text.contains("-- \(id.rawValue)\n"), "\(id) missing from the catalog")
        }
    }
}
