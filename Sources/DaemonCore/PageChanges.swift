import VMClockPage

/// What an operator is told of a page that changed without a disruption:
/// maintenance the host announces (once per flag raised) and the fields
/// whose change is worth a line (flags, clock_status, leap_indicator).
struct PageChanges: Sendable {
    private var lastPage: VMClockPage?
    /// DISRUPTION_SOON and DISRUPTION_IMMINENT as the last page raised them.
    private(set) var announced: PageFlags = []

    /// Notes `page`; returns the lines its changes are worth, in order.
    mutating func notice(_ page: VMClockPage) -> [DaemonEffect] {
        defer { lastPage = page }
        return announceMaintenance(page.flags) + fieldChanges(from: lastPage, to: page)
    }

    private mutating func announceMaintenance(_ flags: PageFlags) -> [DaemonEffect] {
        let maintenance = flags.intersection([.disruptionSoon, .disruptionImminent])
        defer { announced = maintenance }
        guard maintenance != announced else { return [] }
        var effects: [DaemonEffect] = []
        for flag in [PageFlags.disruptionSoon, .disruptionImminent] where maintenance.contains(flag) && !announced.contains(flag) {
            effects.append(.log(.maintenanceAnnounced(flag)))
        }
        return effects
    }

    private func fieldChanges(from old: VMClockPage?, to new: VMClockPage) -> [DaemonEffect] {
        guard let old else { return [] }
        var effects: [DaemonEffect] = []
        if old.flags != new.flags {
            effects.append(.log(.pageFieldChanged(
                field: "flags", old: old.flags.names.joined(separator: ","), new: new.flags.names.joined(separator: ","))))
        }
        if old.clockStatus != new.clockStatus {
            effects.append(.log(.pageFieldChanged(
                field: "clock_status", old: Self.statusName(old.clockStatus), new: Self.statusName(new.clockStatus))))
        }
        if old.leapIndicator != new.leapIndicator {
            effects.append(.log(.pageFieldChanged(
                field: "leap_indicator", old: "\(old.leapIndicator.map(String.init) ?? "absent")",
                new: "\(new.leapIndicator.map(String.init) ?? "absent")")))
        }
        return effects
    }

    private static func statusName(_ raw: UInt8?) -> String {
        raw.map { ClockStatus(rawValue: $0)?.name ?? "\($0)" } ?? "absent"
    }
}
