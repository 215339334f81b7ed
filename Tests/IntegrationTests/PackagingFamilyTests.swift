import Foundation
import TestSupport
import PeerHarness
import Testing

/// The package's files for each distribution family, as `packaging/render`
/// makes them from one set of templates: what each names of chronyd (its
/// user, unit and config directory), and that the unit's own options cannot
/// make the daemon's refclock line differ from the one chronyd's drop-in
/// writes from the same /etc/vmclockd.conf.
@Suite struct PackagingFamily {
    struct Family: CustomTestStringConvertible, Sendable {
        var name: String
        var user: String
        var unit: String
        var snippet: String
        var testDescription: String { name }
    }

    static let families = [
        Family(name: "debian", user: "_chrony", unit: "chrony.service", snippet: "/etc/chrony/conf.d/vmclockd.conf"),
        Family(name: "redhat", user: "chrony", unit: "chronyd.service", snippet: "/etc/chrony.d/vmclockd.conf"),
    ]

    static func render(_ family: Family, into dir: TemporaryDirectory) throws -> (unit: String, rule: String, dropIn: String) {
        let render = Products.repository.appendingPathComponent("packaging/render").path
        let result = try runProgram(["/bin/bash", render, family.name, dir.path("out")])
        try #require(result.status == 0, "\(result)")
        func text(_ name: String) throws -> String { try #require(readFile(dir.path("out/\(name)")), "\(name)") }
        return (try text("vmclockd.service"), try text("60-vmclock.rules"), try text("chrony-drop-in.conf"))
    }

    static func settings(_ text: String) -> [String] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    @Test(arguments: families)
    func eachFamilysFilesNameItsChronydUserUnitAndPaths(_ family: Family) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (unit, rule, dropIn) = try Self.render(family, into: dir)
        let lines = Self.settings(unit)
        for expected in ["User=\(family.user)", "Group=\(family.user)", "PartOf=\(family.unit)", "After=\(family.unit) dev-vmclock0.device",
                         "WantedBy=multi-user.target \(family.unit)", "BindReadOnlyPaths=-/etc/vmclockd.conf -\(family.snippet)",
                         "BindReadOnlyPaths=/run/chrony /run/systemd/journal/socket /run/systemd/notify",
                         "RestartPreventExitStatus=64"] {
            #expect(lines.contains(expected), "\(family.name): no '\(expected)' in the unit")
        }
        #expect(lines.contains { $0.hasPrefix("ExecStart=/usr/sbin/vmclockd run ") && $0.hasSuffix(" --check-chrony-snippet \(family.snippet)") })
        // ClockBound's clients read the device's marker as the application's user.
        #expect(Self.settings(rule).contains("SUBSYSTEM==\"misc\", KERNEL==\"vmclock[0-9]*\", MODE=\"0444\""), "\(rule)")
        #expect(Self.settings(rule).allSatisfy { !$0.contains("GROUP=") && !$0.contains("OWNER=") }, "\(rule)")
        // The segment's directory, kept across restarts (clients map the file once); AWS's writer excluded.
        for expected in ["RuntimeDirectory=vmclockd clockbound", "RuntimeDirectoryMode=0755", "RuntimeDirectoryPreserve=yes",
                         "Conflicts=clockbound.service"] {
            #expect(lines.contains(expected), "\(family.name): no '\(expected)' in the unit")
        }
        #expect(Self.settings(dropIn) == ["[Service]", "ExecStartPre=-+/usr/sbin/vmclockd chrony-config --write \(family.snippet)"], "\(dropIn)")
        let other = Self.families.first { $0.name != family.name }!
        for text in [unit, rule, dropIn] {
            #expect(!text.contains("@CHRONY_"), "a placeholder left")
            for foreign in [other.unit, other.snippet, "=\(other.user)\n", "\"\(other.user)\""] {
                #expect(!text.contains(foreign), "\(family.name) names the \(other.name) family's '\(foreign)'")
            }
        }
    }

    /// chronyd's line is written by the drop-in from /etc/vmclockd.conf alone;
    /// the daemon also gets the unit's ExecStart options. They must not change
    /// the refclock line, or chronyd and the daemon would disagree.
    @Test(arguments: families)
    func theUnitsOwnOptionsLeaveTheRefclockLineAlone(_ family: Family) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (unit, _, _) = try Self.render(family, into: dir)
        let execStart = try #require(Self.settings(unit).first { $0.hasPrefix("ExecStart=") })
        let words = execStart.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
        #expect(words.prefix(2) == ["/usr/sbin/vmclockd", "run"])
        // chrony-config takes run's options; --check-chrony-snippet is run's alone.
        var options = Array(words.dropFirst(2))
        if let check = options.firstIndex(of: "--check-chrony-snippet") { options.removeSubrange(check...(check + 1)) }
        let config = dir.path("vmclockd.conf")
        try writeFile(config, "max-error = 0.0005\ninterval = 0.125\n")
        let withUnit = try runVMClockd(["chrony-config", "--config", config] + options)
        let alone = try runVMClockd(["chrony-config", "--config", config])
        #expect(withUnit.status == 0 && alone.status == 0, "\(withUnit) \(alone)")
        #expect(withUnit.stdout == alone.stdout, "the unit's options \(options) change chronyd's line")
    }
}
