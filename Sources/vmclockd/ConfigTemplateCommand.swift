/// `vmclockd config-template`: /etc/vmclockd.conf with every key commented
/// out at its default, made from the option table itself (the package
/// ships its output), so the file can never list a key the daemon does not
/// read or a default it does not have.
struct ConfigTemplateCommand: Command {
    static let name = "config-template"
    static let abstract = "Print a config file (/etc/vmclockd.conf) with every key at its default, commented out."
    static var options: [Option<ConfigTemplateCommand>] { [] }

    func run() -> Int32 {
        print(Self.text, terminator: "")
        return 0
    }

    static var text: String {
        var out = """
            # /etc/vmclockd.conf: read by `vmclockd run` (the service) and `vmclockd chrony-config`,
            # which writes chronyd's refclock line from it before chronyd starts; `status` and `wait`
            # read the keys they share. One `key = value` a line; the keys are the long options of
            # `vmclockd run --help`, and the command line overrides this file. Flags take yes or no.
            # After a change: systemctl restart chrony (vmclockd restarts with it, after it).
            # Every key below is at its default.

            """
        for option in RunCommand.options where !option.hidden && option.name != "config" {
            out += "\n" + CommandLineText.wrap(option.help, indent: 0).split(separator: "\n").map { "# \($0)\n" }.joined()
            let value = option.valueName == nil ? "no" : (option.defaultText ?? "")
            out += "#\(option.name) = \(value)\n"
        }
        return out
    }
}
