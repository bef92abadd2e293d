/// A configuration that cannot be used. Every case names the key and what is allowed.
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case syntax(file: String, line: Int, message: String)
    case unknownKey(file: String, line: Int, path: String, known: [String])
    case badValue(file: String, line: Int, path: String, got: String, allowed: String)
    case unreadable(file: String, reason: String)
    case boardNotFound(name: String, searched: [String])
    /// A board profile that leaves out facts every profile must give.
    case incompleteBoard(file: String, missing: [String])
    /// Two settings each allowed on its own that cannot hold together.
    case contradiction(first: String, second: String, reason: String)

    public var description: String {
        switch self {
        case let .syntax(file, line, message):
            return "\(file):\(line): TOML syntax error: \(message)"
        case let .unknownKey(file, line, path, known):
            return "\(file):\(line): unknown key '\(path)'. Known keys here: \(known.joined(separator: ", "))"
        case let .badValue(file, line, path, got, allowed):
            return "\(file):\(line): bad value for '\(path)': \(got). Allowed: \(allowed)"
        case let .unreadable(file, reason):
            return "cannot read config \(file): \(reason). Check the path, or pass --config FILE"
        case let .contradiction(first, second, reason):
            return "settings '\(first)' and '\(second)' contradict each other: \(reason) (after built-in defaults, board profile, config file and flags are merged)"
        case let .incompleteBoard(file, missing):
            return "\(file): a board profile must also set \(missing.joined(separator: ", ")) (see boards/generic-x86_64.toml for each key's meaning)"
        case let .boardNotFound(name, searched):
            return "no board profile '\(name)'. Looked in: \(searched.joined(separator: ", ")). Pass a profile name from boards/ or a path to a .toml file"
        }
    }
}
