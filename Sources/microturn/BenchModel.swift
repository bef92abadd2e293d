import ArgumentParser
import Foundation
import MicroturnInference
import MicroturnSimulation
import CMicroturnKernels
import Synchronization

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Prefill and decode speed and peak RSS of the engine and of llama.cpp on the same file.",
        discussion: """
        Each engine runs in its own child process (so peak RSS is its own): a prefill of --prefill tokens, \
        then --decode greedy tokens, then the time to the first token of a fresh --ttft-token prompt. \
        llama.cpp runs through tools/llama-reference.py (llama-cpp-python; its RSS includes the Python \
        interpreter), with the same key/value cache type (--kv-cache, else the setting model.kv_cache). \
        With --runs N the two alternate N times; the table gives medians, and the spread (min-max) of \
        each ratio (microturn / llama.cpp: above 1 is better for speeds, below 1 for time and memory). Also prints the decode ceiling the memory allows: bytes of weights read per token (the \
        used experts' share of the expert tensors, one embedding row, all the rest) over the read bandwidth \
        of --threads threads reading a buffer far larger than the caches, measured in the same run.

        Example: microturn bench model --model models/SmolLM2-135M-Instruct.Q4_1.gguf --threads 2 --runs 3
        """)

    @Option(help: "The .gguf model file.")
    var model: String

    @OptionGroup var engineThreads: EngineThreads

    @Option(help: "Prompt tokens for the prefill (8 or more; a shorter one times nothing).")
    var prefill = 128

    @Option(help: "Tokens to decode (1 or more).")
    var decode = 64

    @Option(help: "Prompt tokens for the time-to-first-token measurement.")
    var ttft = 200

    @Option(help: "Alternate the two engines this many times and report medians.")
    var runs = 1

    /// Prefill and decode together must fit the model's context; checked once the file is open.
    func validate() throws {
        try FlagChecks.integer(prefill, "--prefill", 8...1_000_000)
        try FlagChecks.integer(decode, "--decode", 1...1_000_000)
        try FlagChecks.integer(ttft, "--ttft", 1...1_000_000)
        try FlagChecks.integer(runs, "--runs", 1...100)
    }

    @Option(help: "The llama.cpp reference script.")
    var llamaReference = "tools/llama-reference.py"

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: .hidden)
    var engineOnly = false

    func run() throws {
        try withExitCodes {
            let threads = try engineThreads.resolve(), kv = try engineThreads.precision()
            if engineOnly { return try runEngine(threads: threads, kvCache: kv) }
            let file = try GGUFFile(path: model)
            let config = try ModelConfig(file)
            try Self.checkFits(prefill: prefill, decode: decode, ttft: ttft, config)
            let perToken = Self.bytesPerToken(file, config)
            var ours: [Timing] = [], theirs: [Timing] = []
            for run in 1...runs {
                // The children first: a child's peak RSS starts from this process's at its spawn, so
                // this one stays small until they are done (the bandwidth test takes 512 MB).
                FileHandle.standardError.write(Data("bench model: run \(run)/\(runs): microturn...\n".utf8))
                let o = try ChildProcess.run(ChildProcess.microturn, ["bench", "model", "--model", model, "--threads", "\(threads)",
                                                                      "--kv-cache", kv.rawValue, "--prefill", "\(prefill)", "--decode", "\(decode)",
                                                                      "--ttft", "\(ttft)", "--engine-only"], captureOutput: true)
                guard o.status == 0, let ot = Timing(o.output, rss: o.peakRSSMB) else { throw UsageError(message: "the engine's run failed (exit \(o.status))") }
                ours.append(ot)
                FileHandle.standardError.write(Data("bench model: run \(run)/\(runs): llama.cpp...\n".utf8))
                let t = try ChildProcess.run("python3", [llamaReference, "bench", "--model", model, "--threads", "\(threads)", "--kv-cache", kv.rawValue,
                                                         "--prefill", "\(prefill)", "--decode", "\(decode)", "--ttft", "\(ttft)"], captureOutput: true)
                guard t.status == 0, let tt = Timing(t.output, rss: t.peakRSSMB) else {
                    throw UsageError(message: "llama.cpp's run failed (exit \(t.status)); tools/setup.sh --tests installs llama-cpp-python")
                }
                theirs.append(tt)
            }
            let bandwidth = Self.readBandwidth(threads: threads)
            let ceiling = bandwidth / Double(perToken)
            // Per run: ours and theirs as rates (tokens/s) and the RSS; ratios per run, then medians.
            let rows: [(name: String, key: String, ours: [Double], theirs: [Double])] = [
                ("prefill tokens/s", "prefill_tps", ours.map { Double(prefill) / $0.prefill }, theirs.map { Double(prefill) / $0.prefill }),
                ("decode tokens/s", "decode_tps", ours.map { Double(decode) / $0.decode }, theirs.map { Double(decode) / $0.decode }),
                ("time to first token (ms)", "ttft_ms", ours.map { 1000 * $0.ttft }, theirs.map { 1000 * $0.ttft }),
                ("peak RSS (MB)", "peak_rss_mb", ours.map(\.rss), theirs.map(\.rss)),
            ]
            let f = { (v: Double) in String(format: "%.2f", v) }
            if json {
                var parts = ["\"model\":\"\(model)\"", "\"threads\":\(threads)", "\"kv_cache\":\"\(kv.rawValue)\"", "\"runs\":\(runs)",
                             "\"prefill_tokens\":\(prefill)", "\"decode_tokens\":\(decode)", "\"ttft_prompt_tokens\":\(ttft)"]
                for r in rows {
                    let ratios = zip(r.ours, r.theirs).map { $0 / $1 }
                    parts.append("\"\(r.key)\":{\"microturn\":\(f(Self.median(r.ours))),\"llama_cpp\":\(f(Self.median(r.theirs))),"
                                 + "\"ratio\":\(f(Self.median(ratios))),\"ratio_min\":\(f(ratios.min()!)),\"ratio_max\":\(f(ratios.max()!))}")
                }
                let oDec = Self.median(rows[1].ours), tDec = Self.median(rows[1].theirs)
                parts += ["\"bytes_per_token\":\(perToken)", "\"read_bandwidth_gbs\":\(f(bandwidth / 1e9))", "\"decode_ceiling_tps\":\(f(ceiling))",
                          "\"microturn_of_ceiling\":\(f(oDec / ceiling))", "\"llama_cpp_of_ceiling\":\(f(tDec / ceiling))"]
                print("{" + parts.joined(separator: ",") + "}")
            } else {
                func row(_ a: String, _ cells: [String]) -> String {
                    a.padding(toLength: 28, withPad: " ", startingAt: 0) + cells.map { String(repeating: " ", count: max(0, 15 - $0.count)) + $0 }.joined()
                }
                print("\(model): \(config.architecture), \(threads) threads, KV cache \(kv.rawValue), prefill \(prefill), decode \(decode), first token after \(ttft), \(runs) run\(runs == 1 ? "" : "s")")
                print(row("", ["microturn", "llama.cpp", "ratio"] + (runs > 1 ? ["ratio min-max"] : [])))
                for r in rows {
                    let ratios = zip(r.ours, r.theirs).map { $0 / $1 }
                    print(row(r.name, [f(Self.median(r.ours)), f(Self.median(r.theirs)), f(Self.median(ratios))]
                              + (runs > 1 ? ["\(f(ratios.min()!))-\(f(ratios.max()!))"] : [])))
                }
                let oDec = Self.median(rows[1].ours), tDec = Self.median(rows[1].theirs)
                print(String(format: "decode ceiling: %.1f MB read per token / %.2f GB/s read by %d threads = %.2f tokens/s; microturn %.0f %%, llama.cpp %.0f %% of it",
                             Double(perToken) / 1_048_576, bandwidth / 1e9, threads, ceiling, 100 * oDec / ceiling, 100 * tDec / ceiling))
            }
        }
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The bench's prompt is made of ids 3 and up (0-2 are usually special tokens), and it and the
    /// decoded tokens must fit the context.
    static func checkFits(prefill: Int, decode: Int, ttft: Int, _ c: ModelConfig) throws {
        guard c.vocabulary > 3 else { throw UsageError(message: "the model's vocabulary of \(c.vocabulary) tokens is too small to bench") }
        guard prefill + decode <= c.contextLength else {
            throw UsageError(message: "--prefill \(prefill) + --decode \(decode) do not fit the model's context of \(c.contextLength) tokens; ask for fewer")
        }
        guard ttft <= c.contextLength else {
            throw UsageError(message: "--ttft \(ttft) does not fit the model's context of \(c.contextLength) tokens; ask for fewer")
        }
    }

    struct Timing {
        var prefill: Double, decode: Double, ttft: Double, rss: Double
        init?(_ json: String, rss: Double) {
            guard let line = json.split(separator: "\n").last,
                  let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double],
                  let p = o["prefill_s"], let d = o["decode_s"], let t = o["ttft_s"] else { return nil }
            prefill = p
            decode = d
            ttft = t
            self.rss = rss
        }
    }

    /// The child's side: our engine on the same prompt as llama-reference.py's.
    func runEngine(threads: Int, kvCache: KVCache.Precision) throws {
        let transformer = try Transformer(path: model, threads: threads, kvCache: kvCache)
        let vocab = transformer.config.vocabulary
        try Self.checkFits(prefill: prefill, decode: decode, ttft: ttft, transformer.config)
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
        // Time to first token, as llama-reference.py measures it: a fresh prompt from an empty cache.
        transformer.reset()
        let t3 = Date()
        _ = Sampler.argmax(try transformer.forward(tokens: (0..<ttft).map { ($0 * 6007 + 29) % (vocab - 3) + 3 }))
        let t4 = Date()
        print("{\"prefill_s\": \(t1.timeIntervalSince(t0)), \"decode_s\": \(t2.timeIntervalSince(t1)), \"ttft_s\": \(t4.timeIntervalSince(t3))}")
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

    /// Bytes per second `threads` threads read (each its share of a buffer far larger than the
    /// caches, in wide loads, as the kernels read weights); best of 5.
    static func readBandwidth(threads: Int) -> Double {
        let n = 512 << 20, share = n / threads / 64 * 64
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
        defer { buffer.deallocate() }
        memset(buffer, 1, n)
        let pool = WorkerPool(threads: threads)
        let sink = Mutex<UInt64>(0)
        var best = 0.0
        for _ in 0..<5 {
            let t0 = Date()
            pool.parallelFor(threads) { i in
                let v = mt_read_bytes(buffer + i * share, share)
                sink.withLock { $0 ^= v }
            }
            best = max(best, Double(share * threads) / Date().timeIntervalSince(t0))
        }
        return best
    }
}
