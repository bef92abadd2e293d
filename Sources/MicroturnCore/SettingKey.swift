/// One setting of a TOML configuration (the device's `MicroturnConfig`, the server's
/// `ServerConfig`): its path, what values it allows (said in errors), and how it is applied.
public struct SettingKey<Config>: Sendable {
    public let path: String
    public let allowed: String
    let apply: @Sendable (inout Config, TOMLValue) -> Bool

    public init(path: String, allowed: String, apply: @escaping @Sendable (inout Config, TOMLValue) -> Bool) {
        self.path = path
        self.allowed = allowed
        self.apply = apply
    }

    /// Applies TOML entries through `keys`. An entry whose path is `selector` is handed to
    /// `onSelector` instead (the device's `board_profile`); an unknown key or a value out of
    /// range is an error that names the file, line, key and what is allowed.
    public static func apply(_ entries: [TOMLEntry], keys: [SettingKey], file: String, to config: inout Config,
                             selector: String? = nil, onSelector: (TOMLEntry) throws(ConfigError) -> Void = { _ in }) throws(ConfigError) {
        for entry in entries {
            if let selector, entry.path == selector {
                try onSelector(entry)
                continue
            }
            guard let key = keys.first(where: { $0.path == entry.path }) else {
                let section = entry.path.split(separator: ".").first.map(String.init) ?? ""
                let near = keys.map(\.path).filter { $0.hasPrefix(section + ".") }
                throw .unknownKey(file: file, line: entry.line, path: entry.path,
                                  known: near.isEmpty ? sections(keys) + (selector.map { [$0] } ?? []) : near)
            }
            guard key.apply(&config, entry.value) else {
                throw .badValue(file: file, line: entry.line, path: entry.path, got: entry.value.description, allowed: key.allowed)
            }
        }
    }

    /// TOML text parsed; syntax errors carry the file name.
    public static func parse(toml text: String, file: String) throws(ConfigError) -> [TOMLEntry] {
        do { return try TOMLParser.parse(text) } catch { throw .syntax(file: file, line: error.line, message: error.message) }
    }

    static func sections(_ keys: [SettingKey]) -> [String] {
        var seen: [String] = []
        for k in keys { let s = String(k.path.split(separator: ".")[0]); if !seen.contains(s) { seen.append(s) } }
        return seen.map { "[\($0)]" }
    }

    // MARK: constructors

    public static func int(_ path: String, _ range: ClosedRange<Int>, _ kp: WritableKeyPath<Config, Int> & Sendable) -> SettingKey {
        SettingKey(path: path, allowed: "an integer from \(range.lowerBound) to \(range.upperBound)") { c, v in
            guard case .integer(let i) = v, range.contains(i) else { return false }
            c[keyPath: kp] = i
            return true
        }
    }

    public static func double(_ path: String, _ range: ClosedRange<Double>, _ kp: WritableKeyPath<Config, Double> & Sendable) -> SettingKey {
        SettingKey(path: path, allowed: "a number from \(range.lowerBound) to \(range.upperBound)") { c, v in
            let d: Double
            switch v {
            case .integer(let i): d = Double(i)
            case .float(let f): d = f
            default: return false
            }
            guard range.contains(d) else { return false }
            c[keyPath: kp] = d
            return true
        }
    }

    public static func bool(_ path: String, _ kp: WritableKeyPath<Config, Bool> & Sendable) -> SettingKey {
        SettingKey(path: path, allowed: "true or false") { c, v in
            guard case .bool(let b) = v else { return false }
            c[keyPath: kp] = b
            return true
        }
    }

    public static func string(_ path: String, oneOf choices: [String]? = nil, allowEmpty: Bool = false,
                              _ kp: WritableKeyPath<Config, String> & Sendable) -> SettingKey {
        let allowed = choices.map { "one of " + $0.map { "\"\($0)\"" }.joined(separator: ", ") } ?? (allowEmpty ? "a string, or \"\" for none" : "a non-empty string")
        return SettingKey(path: path, allowed: allowed) { c, v in
            guard case .string(let s) = v, allowEmpty || !s.isEmpty, choices?.contains(s) ?? true else { return false }
            c[keyPath: kp] = s
            return true
        }
    }

    public static func path(_ path: String, _ kp: WritableKeyPath<Config, String> & Sendable) -> SettingKey {
        SettingKey(path: path, allowed: "a path (string), or \"\" for none") { c, v in
            guard case .string(let s) = v else { return false }
            c[keyPath: kp] = s
            return true
        }
    }

    public static func stringList(_ path: String, oneOf choices: [String], _ kp: WritableKeyPath<Config, [String]> & Sendable) -> SettingKey {
        SettingKey(path: path, allowed: "a non-empty list of " + choices.map { "\"\($0)\"" }.joined(separator: ", ")) { c, v in
            guard case .array(let items) = v, !items.isEmpty else { return false }
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item, choices.contains(s) else { return false }
                out.append(s)
            }
            c[keyPath: kp] = out
            return true
        }
    }

    /// A list of http:// or https:// URLs (which may be empty).
    public static func urls(_ path: String, _ kp: WritableKeyPath<Config, [String]> & Sendable) -> SettingKey {
        SettingKey(path: path, allowed: "a list of http:// or https:// URLs, or [] for none") { c, v in
            guard case .array(let items) = v else { return false }
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item, s.hasPrefix("http://") || s.hasPrefix("https://"), s.count > 8 else { return false }
                out.append(s)
            }
            c[keyPath: kp] = out
            return true
        }
    }

    /// "HOST:PORT" (an IPv6 address in brackets), or "" when `allowEmpty`.
    public static func endpoint(_ path: String, example: String, allowEmpty: Bool, _ kp: WritableKeyPath<Config, String> & Sendable) -> SettingKey {
        SettingKey(path: path, allowed: "\"HOST:PORT\" (\(example))" + (allowEmpty ? ", or \"\" for none" : "")) { c, v in
            guard case .string(let s) = v, (allowEmpty && s.isEmpty) || Endpoint.parse(s) != nil else { return false }
            c[keyPath: kp] = s
            return true
        }
    }
}

/// A network endpoint in a setting: "HOST:PORT", "[::1]:PORT" for an IPv6 address.
public enum Endpoint {
    public static func parse(_ s: String) -> (host: String, port: Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65_535).contains(port) else {
            return nil
        }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        return (host, port)
    }

    public static func isLoopback(_ host: String) -> Bool { ["127.0.0.1", "localhost", "::1"].contains(host) }
}
