/// `vmclockd config-template`: /etc/vmclockd.conf as the package ships it,
/// every key with its help, commented out at its default. The same text as
/// `run --config none --print-config`, made from the option table, so the
/// file cannot list a key the daemon does not read or a default it lacks.
struct ConfigTemplateCommand: Command {
    static let name = "config-template"
    static let abstract = "Print /etc/vmclockd.conf as shipped: every key with its help, commented out at its default."
    static var options: [Option<ConfigTemplateCommand>] { [] }

    func run() -> Int32 {
        print(ConfigFile.template(RunCommand.options.filter { ConfigFile.keys.contains($0.name) }, Settings()), terminator: "")
        return 0
    }
}
