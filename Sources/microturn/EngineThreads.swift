import ArgumentParser

/// The size of the engine's worker pool: --threads, else the board profile's `board.threads`
/// (read the way every command reads settings: --board, --config, the default config file).
struct EngineThreads: ParsableArguments {
    @Option(help: "Threads for the matrix products. Default: the board profile's board.threads (2 built in).")
    var threads: Int?

    @OptionGroup var source: SettingsSource

    func validate() throws {
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads must be 1-64, got \(threads)") }
    }

    func resolve() throws -> Int {
        if let threads { return threads }
        return try source.load().board.threads
    }
}
