/// The options that choose and show the config file, and the file
/// `--print-config` writes: every key with its help and its default, so the
/// template the package ships is made from the option table and cannot drift
/// from it.
extension ConfigFile {
    static let configOptionName = "config"
    static let printOptionName = "print-config"

    /// `--config <path>`: read before the other options, which override it.
    static func configOption<T>() -> Option<T> {
        Option(configOptionName, value: "path",
               help: "The configuration file ('none': none). A missing default file means the built-in defaults; a missing file named here is an error.",
               default: defaultPath) { _, _ in }
    }

    /// `--print-config`: the settings in effect, as a config file, and exit.
    static func printOption<T>() -> Option<T> {
        Option(flag: printOptionName,
               help: "Print the settings in effect (defaults, config file, command line) as a config file, and exit.") { _ in }
    }

    static let header = """
        # vmclockd's configuration (vmclockd(8), CONFIGURATION), read by
        # `vmclockd run` and by `vmclockd chrony-config`, which makes chronyd's
        # refclock line from the same settings, so the two cannot disagree.
        #
        # One "key = value" per line; # starts a comment, to the end of the line.
        # The keys are the long options of `vmclockd run`; flags take yes or no. An
        # option given on the command line overrides this file. An unknown key
        # or a value out of its range stops vmclockd, naming the line.
        #
        # After a change, restart chronyd (systemctl restart chrony on Debian
        # and Ubuntu, chronyd on Fedora and RHEL): its refclock line is made
        # again from this file before it starts, and vmclockd restarts with it.
        #
        # Each key is shown with its default, commented out, unless set.

        """

    /// A config file of `options`: those in `settings` set as given (with
    /// where from), the rest commented out at their defaults.
    static func template<T>(_ options: [Option<T>], _ settings: Settings) -> String {
        var text = header
        for option in options where !option.hidden {
            text += "\n" + CommandLineText.wrap(option.help, indent: 0, width: 78).split(separator: "\n").map { "# " + $0 }.joined(separator: "\n") + "\n"
            if let (value, origin) = settings.values[option.name] {
                text += "# (set by \(origin))\n\(option.name) = \(value)\n"
            } else {
                let fallback = option.valueName.map { "<\($0)>" } ?? "no"
                text += "#\(option.name) = \(option.defaultText ?? fallback)\n"
            }
        }
        return text
    }
}
