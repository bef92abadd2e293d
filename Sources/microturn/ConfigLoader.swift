import Foundation
import MicroturnCore

/// Where settings come from, lowest first: built-in defaults, the board profile, the config file,
/// then command-line flags; then the merged settings are checked for contradictions.
enum ConfigLoader {
    static let defaultConfigPath = "/etc/microturn/microturn.toml"

    static func load(configPath: String?, board: String?, flags: [TOMLEntry] = []) throws(ConfigError) -> MicroturnConfig {
        var fileText: String?
        let path = configPath ?? defaultConfigPath
        if FileManager.default.fileExists(atPath: path) || configPath != nil {
            do { fileText = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw .unreadable(file: path, reason: (error as NSError).localizedDescription)
            }
        }
        // The file may name a board profile; --board wins over it.
        var scratch = MicroturnConfig()
        let fileBoard = try fileText.flatMap { text throws(ConfigError) in try ConfigSchema.apply(toml: text, file: path, to: &scratch) }
        var config = MicroturnConfig()
        if let name = board ?? fileBoard {
            let boardPath = try locateBoard(name)
            try ConfigSchema.apply(readBoard(at: boardPath), file: boardPath, to: &config, allowBoardSelector: false)
        }
        if let fileText { try ConfigSchema.apply(toml: fileText, file: path, to: &config) }
        // Flags go through the same validation as files, so a bad value names the setting.
        try ConfigSchema.apply(flags, file: "command line", to: &config, allowBoardSelector: false)
        try ConfigSchema.checkConsistent(config)
        return config
    }

    /// A board profile's entries, checked to say every fact a profile must give.
    static func readBoard(at path: String) throws(ConfigError) -> [TOMLEntry] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .unreadable(file: path, reason: (error as NSError).localizedDescription)
        }
        let entries = try ConfigSchema.Key.parse(toml: text, file: path)
        try ConfigSchema.checkBoardProfile(entries, file: path)
        return entries
    }

    /// Where board profiles are looked for by name, first match wins.
    static var boardDirectories: [String] {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var dirs: [String] = []
        if let env = ProcessInfo.processInfo.environment["MICROTURN_BOARDS"] { dirs.append(env) }
        return dirs + [
            "boards",
            exe.appendingPathComponent("../share/microturn/boards").standardized.path,
            exe.appendingPathComponent("../../boards").standardized.path,  // a build folder of the repository
            "/usr/share/microturn/boards",
        ]
    }

    /// A board profile by path, or by name in the usual places.
    static func locateBoard(_ name: String) throws(ConfigError) -> String {
        if name.contains("/") || name.hasSuffix(".toml") {
            guard FileManager.default.fileExists(atPath: name) else { throw .boardNotFound(name: name, searched: [name]) }
            return name
        }
        let dirs = boardDirectories
        guard let found = dirs.map({ "\($0)/\(name).toml" }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw .boardNotFound(name: name, searched: dirs)
        }
        return found
    }
}
