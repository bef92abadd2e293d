import ArgumentParser
import Foundation
import MicroturnCore

/// `microturn boards`: the board profiles this install knows, and what one of them says.
struct Boards: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the board profiles, or show what one sets.",
        discussion: """
        A board profile (boards/NAME.toml, installed in /usr/share/microturn/boards) says what an
        integrator's kit needs to know of a board: its architecture, cores and inference threads,
        the memory the unit may use, the sound devices by card id, the camera, the audio period,
        the micro-turn length and the temperatures where it throttles and shuts down. Choose one
        with `board_profile = "NAME"` in /etc/microturn/microturn.toml or --board NAME.

        Profiles are looked for in $MICROTURN_BOARDS, ./boards, beside the binary
        (../share/microturn/boards) and /usr/share/microturn/boards; the first of a name wins.

        Examples:
          microturn boards list
          microturn boards show rpi5
          microturn boards show ./my-board.toml --json
        """,
        subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The profiles found, one line each.")
        @Flag(help: "One JSON object per profile, one per line.") var json = false

        func run() throws {
            try withExitCodes {
                var seen = Set<String>()
                var found: [(name: String, path: String, board: Result<MicroturnConfig.Board, ConfigError>)] = []
                for dir in ConfigLoader.boardDirectories {
                    let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
                    for file in files.sorted() where file.hasSuffix(".toml") {
                        let name = String(file.dropLast(5))
                        guard seen.insert(name).inserted else { continue }
                        let path = "\(dir)/\(file)"
                        // A broken profile is listed with its error rather than hiding the others.
                        found.append((name, path, Result { () throws(ConfigError) in try BoardProfile(path: path).config.board }))
                    }
                }
                if found.isEmpty {
                    throw UsageError(message: "no board profiles found in \(ConfigLoader.boardDirectories.joined(separator: ", ")); set MICROTURN_BOARDS to a folder of .toml profiles")
                }
                if json {
                    for f in found {
                        var object: [String: Any] = ["name": f.name, "path": f.path]
                        switch f.board {
                        case .success(let b):
                            object.merge(["architecture": b.architecture, "cores": b.cores, "threads": b.threads,
                                          "memory_max_mb": b.memoryMaxMb, "description": b.description]) { $1 }
                        case .failure(let e): object["error"] = e.description
                        }
                        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                    }
                } else {
                    let rows = found.map { f in
                        switch f.board {
                        case .success(let b):
                            return [f.name, b.architecture, "\(b.cores)", "\(b.threads)", b.memoryMaxMb > 0 ? "\(b.memoryMaxMb) MiB" : "-", b.description, f.path]
                        case .failure(let e): return [f.name, "?", "?", "?", "?", "unusable: \(e)", f.path]
                        }
                    }
                    print(Table.render([["BOARD", "ARCH", "CORES", "THREADS", "MEMORY MAX", "DESCRIPTION", "PROFILE"]] + rows))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every setting a profile makes, with the file it is in.")
        @Argument(help: "A profile name (see `microturn boards list`) or a path to a .toml file.") var name: String
        @Flag(help: "A JSON object: name, path and settings.") var json = false

        func run() throws {
            try withExitCodes {
                let profile = try BoardProfile(path: ConfigLoader.locateBoard(name))
                if json {
                    var settings: [String: Any] = [:]
                    for e in profile.entries { settings[e.path] = e.value.jsonValue }
                    let object: [String: Any] = ["name": profile.config.board.name, "path": profile.path, "settings": settings]
                    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
                } else {
                    print("# \(profile.config.board.name): \(profile.config.board.description)")
                    print("# \(profile.path)")
                    for e in profile.entries { print("\(e.path) = \(e.value)") }
                }
            }
        }
    }
}

/// One board profile read and checked: its entries as written, and the settings they make over
/// the built-in defaults.
struct BoardProfile {
    let path: String
    let entries: [TOMLEntry]
    let config: MicroturnConfig

    init(path: String) throws(ConfigError) {
        self.path = path
        entries = try ConfigLoader.readBoard(at: path)
        var config = MicroturnConfig()
        try ConfigSchema.apply(entries, file: path, to: &config, allowBoardSelector: false)
        try ConfigSchema.checkConsistent(config)
        self.config = config
    }
}

extension TOMLValue {
    /// The value as JSONSerialization takes it.
    var jsonValue: Any {
        switch self {
        case .string(let s): return s
        case .integer(let i): return i
        case .float(let d): return d
        case .bool(let b): return b
        case .array(let a): return a.map(\.jsonValue)
        }
    }
}
