import ArgumentParser
import MicroturnInference

/// The size of the engine's worker pool: --threads, else the board profile's `board.threads`
/// (read the way every command reads settings: --board, --config, the default config file).
struct EngineThreads: ParsableArguments {
    @Option(help: "Threads for the matrix products. Default: the board profile's board.threads (2 built in).")
    var threads: Int?

    @OptionGroup var source: SettingsSource

    func validate() throws {
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads must be 1-64, got \(threads)") }
        if let kvCache, KVCache.Precision(rawValue: kvCache) == nil { throw ValidationError("--kv-cache must be f16 or f32, got '\(kvCache)'") }
    }

    @Option(help: "How the key/value cache keeps its elements: f16 (half the memory) or f32. Default: the setting model.kv_cache (f16 built in).")
    var kvCache: String?

    func resolve() throws -> Int {
        if let threads { return threads }
        return try source.load().board.threads
    }

    func precision() throws -> KVCache.Precision {
        let name = try kvCache ?? source.load().model.kvCache
        // (The flag is checked by validate(), the setting by the config schema.)
        return KVCache.Precision(rawValue: name) ?? .f16
    }
}
