import ArgumentParser
import Foundation
import MicroturnInference
import MicroturnSimulation

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Prefill and decode speed and peak RSS of the engine and of llama.cpp on the same file.",
        discussion: """
        Each engine runs in its own child process (so peak RSS is its own): a prefill of --prefill tokens, \
        then --decode greedy tokens. llama.cpp runs through tools/llama-reference.py (llama-cpp-python; its \
        RSS includes the Python interpreter). Also prints the decode ceiling the memory allows: bytes of \
        weights read per token (the used experts' share of the expert tensors, one embedding row, all the \
        rest) over the copy bandwidth measured in the same run.

        Example: microturn bench model --model granite-q8.gguf --threads 2
        """)

    @Option(help: "The .gguf model file.")
    var model: String

    @OptionGroup var engineThreads: EngineThreads

    @Option(help: "Prompt tokens for the prefill (8 or more; a shorter one times nothing).")
    var prefill = 128

    @Option(help: "Tokens to decode (1 or more).")
    var decode = 64

    /// Prefill and decode together must fit the model's context; checked once the file is open.
    func validate() throws {
        try FlagChecks.integer(prefill, "--prefill", 8...1_000_000)
        try FlagChecks.integer(decode, "--decode", 1...1_000_000)
    }

    @Option(help: "The llama.cpp reference script.")
    var llamaReference = "tools/llama-reference.py"

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: .hidden)
    var engineOnly = false

    func run() throws {
        try withExitCodes {
            let threads = try engineThreads.resolve()
            if engineOnly { return try runEngine(threads: threads) }
            let file = try GGUFFile(path: model)
            let config = try ModelConfig(file)
            try Self.checkFits(prefill: prefill, decode: decode, config)
            let perToken = Self.bytesPerToken(file, config)
            // The children first: a child's peak RSS starts from this process's at its spawn, so
            // this one stays small until they are done (the bandwidth test takes 512 MB).
            FileHandle.standardError.write(Data("bench model: microturn...\n".utf8))
            let ours = try ChildProcess.run(ChildProcess.microturn, ["bench", "model", "--model", model, "--threads", "\(threads)",
                                                                     "--prefill", "\(prefill)", "--decode", "\(decode)", "--engine-only"],
                                            captureOutput: true)
            guard ours.status == 0, let o = Timing(ours.output) else { throw UsageError(message: "the engine's run failed (exit \(ours.status))") }
            FileHandle.standardError.write(Data("bench model: llama.cpp...\n".utf8))
            let theirs = try ChildProcess.run("python3", [llamaReference, "bench", "--model", model, "--threads", "\(threads)",
                                                          "--prefill", "\(prefill)", "--decode", "\(decode)"], captureOutput: true)
            guard theirs.status == 0, let t = Timing(theirs.output) else {
                throw UsageError(message: "llama.cpp's run failed (exit \(theirs.status)); tools/setup.sh --tests installs llama-cpp-python")
            }
            let bandwidth = Self.copyBandwidth()
            let ceiling = bandwidth / Double(perToken)
            let f = { (v: Double) in String(format: "%.2f", v) }
            let oPre = Double(prefill) / o.prefill, tPre = Double(prefill) / t.prefill
            let oDec = Double(decode) / o.decode, tDec = Double(decode) / t.decode
            if json {
                print("{\"model\":\"\(model)\",\"threads\":\(threads),\"prefill_tokens\":\(prefill),\"decode_tokens\":\(decode),"
                      + "\"microturn\":{\"prefill_tps\":\(f(oPre)),\"decode_tps\":\(f(oDec)),\"peak_rss_mb\":\(f(ours.peakRSSMB))},"
                      + "\"llama_cpp\":{\"prefill_tps\":\(f(tPre)),\"decode_tps\":\(f(tDec)),\"peak_rss_mb\":\(f(theirs.peakRSSMB))},"
                      + "\"prefill_ratio\":\(f(oPre / tPre)),\"decode_ratio\":\(f(oDec / tDec)),\"rss_ratio\":\(f(ours.peakRSSMB / theirs.peakRSSMB)),"
                      + "\"bytes_per_token\":\(perToken),\"copy_bandwidth_gbs\":\(f(bandwidth / 1e9)),\"decode_ceiling_tps\":\(f(ceiling)),"
                      + "\"microturn_of_ceiling\":\(f(oDec / ceiling)),\"llama_cpp_of_ceiling\":\(f(tDec / ceiling))}")
            } else {
                func row(_ a: String, _ b: String, _ c: String, _ d: String) -> String {
                    a.padding(toLength: 28, withPad: " ", startingAt: 0) + [b, c, d].map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
                }
                print("\(model): \(config.architecture.name), \(threads) threads, prefill \(prefill), decode \(decode)")
                print(row("", "microturn", "llama.cpp", "ratio"))
                print(row("prefill tokens/s", f(oPre), f(tPre), f(oPre / tPre)))
                print(row("decode tokens/s", f(oDec), f(tDec), f(oDec / tDec)))
                print(row("peak RSS (MB)", f(ours.peakRSSMB), f(theirs.peakRSSMB), f(ours.peakRSSMB / theirs.peakRSSMB)))
                print(String(format: "decode ceiling: %.1f MB read per token / %.2f GB/s copy bandwidth = %.2f tokens/s; microturn %.0f %%, llama.cpp %.0f %% of it",
                             Double(perToken) / 1_048_576, bandwidth / 1e9, ceiling, 100 * oDec / ceiling, 100 * tDec / ceiling))
            }
        }
    }

    /// The bench's prompt is made of ids 3 and up (0-2 are usually special tokens), and it and the
    /// decoded tokens must fit the context.
    static func checkFits(prefill: Int, decode: Int, _ c: ModelConfig) throws {
        guard c.vocabulary > 3 else { throw UsageError(message: "the model's vocabulary of \(c.vocabulary) tokens is too small to bench") }
        guard prefill + decode <= c.contextLength else {
            throw UsageError(message: "--prefill \(prefill) + --decode \(decode) do not fit the model's context of \(c.contextLength) tokens; ask for fewer")
        }
    }

    struct Timing {
        var prefill: Double, decode: Double
        init?(_ json: String) {
            guard let line = json.split(separator: "\n").last,
                  let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double],
                  let p = o["prefill_s"], let d = o["decode_s"] else { return nil }
            prefill = p
            decode = d
        }
    }

    /// The child's side: our engine on the same prompt as llama-reference.py's.
    func runEngine(threads: Int) throws {
        let transformer = try Transformer(path: model, threads: threads)
        let vocab = transformer.config.vocabulary
        try Self.checkFits(prefill: prefill, decode: decode, transformer.config)
        let prompt = (0..<prefill).map { ($0 * 7919 + 13) % (vocab - 3) + 3 }
        // Warm up (page in the weights) as llama-reference.py does, then start over.
        _ = try transformer.forward(tokens: Array(prompt.prefix(4)))
        transformer.reset()
        let t0 = Date()
        var logits = try transformer.forward(tokens: prompt)
        let t1 = Date()
        for _ in 0..<decode {
            let next = Sampler.argmax(logits)
            logits = try transformer.forward(token: next)
        }
        let t2 = Date()
        print("{\"prefill_s\": \(t1.timeIntervalSince(t0)), \"decode_s\": \(t2.timeIntervalSince(t1))}")
    }

    /// Weight bytes one decode step reads: one embedding row, the used experts' share of each
    /// expert tensor, every other tensor whole.
    static func bytesPerToken(_ file: GGUFFile, _ c: ModelConfig) -> Int {
        file.tensors.reduce(0) { sum, t in
            if t.name == "token_embd.weight" && file.tensor("output.weight") != nil { return sum + t.byteCount / t.rowCount }
            if t.name.contains("_exps") && c.experts > 0 { return sum + t.byteCount / c.experts * c.expertsUsed }
            return sum + t.byteCount
        }
    }

    /// Bytes per second memcpy moves through a buffer far larger than the caches (best of 5).
    static func copyBandwidth() -> Double {
        let n = 256 << 20
        let a = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64), b = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
        defer { a.deallocate(); b.deallocate() }
        memset(a, 1, n)
        memset(b, 2, n)
        var best = 0.0
        for _ in 0..<5 {
            let t0 = Date()
            memcpy(b, a, n)
            best = max(best, Double(n) / Date().timeIntervalSince(t0))
        }
        return best
    }
}
