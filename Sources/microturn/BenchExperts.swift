import ArgumentParser
import Foundation
import MicroturnInference

struct BenchExperts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experts",
        abstract: "What an MoE and its expert subsets cost and buy, per domain, against the dense model they came from.",
        discussion: """
        For each domain of --corpus (a folder tools/make-corpus.py wrote: NAME.train.txt and NAME.test.txt), \
        the MoE is profiled on the train text and every variant is measured on the held-out test text: \
        perplexity, its rise over the dense model's, the mean KL divergence from the dense model \
        (nats per token), the expert bytes a board keeps resident, and decode tokens/s (--threads). \
        Variants: the MoE with --used-list experts per token; subsets keeping 50 % and 25 % of the \
        experts per layer, chosen by the domain's profile and, as the baseline, at random (--seed); and \
        for a file moefy wrote, the same subsets with their down projections refitted on --refit-tokens of \
        all the domains' train text, all.train.txt (least squares against the dense model's activations, \
        every kept expert used), and the neurons that matter most, chosen by the dense model's run over all.train.txt \
        and the domain's train text (weighed equally), regrouped into experts and refitted, as many as the \
        same 50 % or 25 % of the expert bytes hold with their downs in the gate's type (`model subset \
        --refit-text`); and residency on \
        the whole file: the profile's hottest experts resident and the others rerouted to them, or paged \
        in from the mapped file through an LRU cache (hit rate and stall time while decoding). \
        --prose adds real English prose as an out-of-domain row (profiled on all the train texts).

        Example: microturn bench experts --model models/smollm2-moe16.gguf --dense models/SmolLM2-135M-Instruct.Q4_1.gguf --corpus corpus
        """)

    @Option(help: "The MoE .gguf model (`microturn model moefy`).")
    var model: String

    @Option(help: "The dense model it was made from.")
    var dense: String

    @Option(help: "The corpus folder (tools/make-corpus.py --out).")
    var corpus: String

    @Option(help: "Domains to measure, comma-separated (default: every NAME.test.txt with its NAME.train.txt).")
    var domains: String?

    @Option(help: "Out-of-domain prose to add as a row (e.g. /usr/share/common-licenses/GPL-3).")
    var prose: String?

    @Option(help: "Tokens per scored chunk.")
    var ctx = 256

    @Option(help: "Chunks of held-out text scored per domain.")
    var chunks = 4

    @Option(help: "Train tokens each profile reads.")
    var profileTokens = 8192

    @Option(help: "Tokens of all.train.txt the refitted subsets are fitted on (the dense model's run over them is summed once).")
    var refitTokens = 16384

    @Option(help: "Experts per token of the whole MoE's rows, comma-separated (default: all, the file's, half and a quarter of the experts).")
    var usedList: String?

    @Option(help: "Seed of the random subsets.")
    var seed: UInt64 = 1

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var engineThreads: EngineThreads

    func validate() throws {
        try FlagChecks.integer(ctx, "--ctx", 16...4096)
        try FlagChecks.integer(chunks, "--chunks", 1...1000)
        try FlagChecks.integer(profileTokens, "--profile-tokens", 16...10_000_000)
        try FlagChecks.integer(refitTokens, "--refit-tokens", 1024...1_000_000)
        if let usedList, usedList.split(separator: ",").contains(where: { Int($0).map { $0 < 1 } ?? true }) {
            throw ValidationError("--used-list must be positive integers separated by commas, got '\(usedList)'")
        }
    }

    struct Row: Encodable {
        let domain: String, variant: String, experts: Int, used: Int
        let perplexity: Double, densePerplexity: Double, kl: Double, residentExpertBytes: Int, decodeTokensPerSecond: Double
        /// Residency at run time, while decoding: the share of picks served from memory (paging),
        /// stall per token (paging), the share of picks sent elsewhere (reroute).
        var hitRate: Double? = nil, stallMsPerToken: Double? = nil, reroutedShare: Double? = nil
        var rise: Double { perplexity / densePerplexity - 1 }
    }

    func run() throws {
        try withExitCodes {
            let threads = try engineThreads.resolve()
            let moeFile = try GGUFFile(path: model)
            let config = try ModelConfig(moeFile)
            guard config.experts > 0 else { throw UsageError(message: "--model " + ExpertSubset.noExperts(model)) }
            let denseFile = try GGUFFile(path: dense)
            let moe = try Transformer(file: moeFile, threads: threads, kvCache: .f32)
            let denseModel = try Transformer(file: denseFile, threads: threads, kvCache: .f32)
            guard denseModel.config.vocabulary == config.vocabulary, denseModel.config.width == config.width else {
                throw UsageError(message: "--dense \(dense) is not the model \(model) was made from (vocabulary or width differ)")
            }
            let tokenizer = try Tokenizer(file: moeFile)
            let names = try domainNames()
            let sizes = ExpertSubset.Sizes(moeFile, experts: config.experts)
            // Regrouped neurons carry their down projections in the dense model's type: more fit.
            let regroupedSizes = ExpertSubset.Sizes(moeFile, experts: config.experts, downType: ExpertSubset.regroupedDownType(moeFile))
            let neurons = MoEfication.neurons(of: moeFile, layers: config.layers, experts: config.experts)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-bench-experts-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            let bos = tokenizer.addBOS ? tokenizer.bos : nil
            func ids(_ path: String) throws -> [Int] {
                var t = tokenizer.encode(try TextFile.read(path, flag: "--corpus"), special: false)
                if let bos { t.insert(bos, at: 0) }
                return t
            }
            let usedCounts = usedList.map { $0.split(separator: ",").compactMap { Int($0) }.map { min($0, config.experts) } }
                ?? Array(Set([config.experts, config.expertsUsed, max(1, config.experts / 2), max(1, config.experts / 4)])).sorted(by: >)
            var rows: [Row] = []
            var sets = names.map { ($0, "\(corpus)/\($0).train.txt", "\(corpus)/\($0).test.txt") }
            if let prose { sets.append(("prose", "\(corpus)/all.train.txt", prose)) }
            // The dense model's run over all the domains' train text, for every refit.
            var statistics: DownRefit.Statistics?
            if neurons != nil {
                statistics = try DownRefit.Statistics.collect(denseModel, corpus: try ids("\(corpus)/all.train.txt"), limit: refitTokens, context: ctx) { done, all in
                    if done % 4096 < ctx || done == all { note("bench experts: refit statistics: \(done) of \(all) tokens") }
                }
            }
            for (domain, train, test) in sets {
                note("bench experts: \(domain): dense reference")
                let reference = try Divergence.reference(denseModel, tokens: try ids(test), context: ctx, bos: bos, maxChunks: chunks)
                note("bench experts: \(domain): profile")
                let trainIds = try ids(train)
                let profile = try ExpertProfile.measure(moe, corpus: trainIds, context: ctx, maxTokens: profileTokens)
                // Each variant: its experts per layer, used per token, their bytes, and the writer of its file (nil: the MoE itself).
                var variants: [(name: String, experts: Int, used: Int, bytes: Int, writer: () throws -> GGUFWriter?)] = usedCounts.map { used in
                    ("MoE, all experts", config.experts, used, sizes.expertBytes, {
                        used == config.expertsUsed ? nil : try ExpertSubset.writer(moeFile, config, kept: Array(repeating: Array(0..<config.experts), count: config.layers), used: used)
                    })
                }
                // The domain's own run, weighed as much as all the domains' one, for the neurons its subsets keep.
                let domainStatistics = try statistics.map { all in
                    note("bench experts: \(domain): the dense model's run over its train text")
                    return all.weighedEqually(with: try DownRefit.Statistics.collect(denseModel, corpus: trainIds, limit: refitTokens, context: ctx))
                }
                for share in [2, 4] where config.experts / share >= 1 {
                    let keep = config.experts / share, random = ExpertSubset.random(layers: config.layers, experts: config.experts, keep: keep, seed: seed)
                    let bytes = keep * sizes.bytesPerExpert
                    variants.append(("profile \(100 / share) %", keep, min(config.expertsUsed, keep), bytes, { try ExpertSubset.writer(moeFile, config, kept: profile.mostSalient(keep)) }))
                    variants.append(("random \(100 / share) %", keep, min(config.expertsUsed, keep), bytes, { try ExpertSubset.writer(moeFile, config, kept: random) }))
                    if let statistics, let neurons, let domainStatistics {
                        let refit = { (kept: [[Int]]) in
                            try ExpertSubset.writer(moeFile, config, kept: kept, used: keep, downs: try DownRefit.fit(statistics, kept: zip(kept, neurons).map { k, n in k.flatMap { n[$0] } }))
                        }
                        variants.append(("profile \(100 / share) % + refit", keep, keep, bytes, { try refit(profile.mostSalient(keep)) }))
                        variants.append(("random \(100 / share) % + refit", keep, keep, bytes, { try refit(random) }))
                        // As many experts' worth of neurons as the same share of the expert bytes holds.
                        let neuronKeep = max(1, min(config.experts, sizes.expertBytes / share / regroupedSizes.bytesPerExpert))
                        variants.append(("neurons \(100 / share) % + refit", neuronKeep, neuronKeep, neuronKeep * regroupedSizes.bytesPerExpert, {
                            try ExpertSubset.regroupedWriter(moeFile, config, statistics: domainStatistics, experts: neuronKeep, threads: threads)
                        }))
                    }
                }
                for (name, experts, used, bytes, writer) in variants {
                    note("bench experts: \(domain): \(name), \(used) used")
                    let path = "\(work)/variant.gguf"
                    var subset = moe
                    if let w = try writer() {
                        try w.write(to: path)
                        subset = try Transformer(path: path, threads: threads, kvCache: .f32)
                    }
                    let result = try Divergence.measure(subset, against: reference)
                    rows.append(Row(domain: domain, variant: name, experts: experts, used: used, perplexity: result.perplexity,
                                    densePerplexity: reference.perplexity, kl: result.meanKL,
                                    residentExpertBytes: bytes, decodeTokensPerSecond: try Self.decodeSpeed(subset)))
                }
                // Residency on the whole file: half the experts (the profile's hottest) resident and
                // the others rerouted to them; or a quarter resident and the others paged through a
                // cache of another quarter (the same memory as the 50 % subsets).
                let quarter = max(1, config.experts / 4)
                var residencies: [(name: String, keep: Int, mode: ExpertResidency.Mode, memory: Int)] = []
                if config.experts / 2 >= config.expertsUsed { residencies.append(("reroute, 50 % resident", config.experts / 2, .reroute, config.experts / 2)) }
                residencies.append(("page, 25 % resident + 25 % cache", quarter, .page(cacheExperts: quarter * config.layers), 2 * quarter))
                for (name, keep, mode, memory) in residencies {
                    let residency = ExpertResidency(keep: profile.mostSalient(keep), experts: config.experts, mode: mode)
                    note("bench experts: \(domain): \(name)")
                    moe.attach(residency)
                    defer { moe.attach(nil) }
                    let result = try Divergence.measure(moe, against: reference)
                    residency.resetStats()
                    let speed = try Self.decodeSpeed(moe)
                    let s = residency.stats, picks = Double(max(1, s.resident + s.hits + s.misses))
                    var row = Row(domain: domain, variant: name, experts: config.experts, used: config.expertsUsed, perplexity: result.perplexity,
                                  densePerplexity: reference.perplexity, kl: result.meanKL,
                                  residentExpertBytes: memory * sizes.bytesPerExpert, decodeTokensPerSecond: speed)
                    if mode == .reroute { row.reroutedShare = Double(s.rerouted) / picks } else {
                        row.hitRate = Double(s.resident + s.hits) / picks
                        row.stallMsPerToken = Double(s.stallNanoseconds) / 1e6 / Double(Self.decodeTokens)
                    }
                    rows.append(row)
                }
            }
            let denseSpeed = try Self.decodeSpeed(denseModel)
            if json {
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
                return
            }
            print(String(format: "bench experts: %@ (%d layers x %d experts, %.1f MB of experts, %.1f MB other) against %@; %d chunks of %d held-out tokens per domain, %d threads",
                         model, config.layers, config.experts, Double(sizes.expertBytes) / 1e6, Double(sizes.otherBytes) / 1e6, dense, chunks, ctx, threads))
            print(String(format: "dense model decode: %.1f tokens/s", denseSpeed))
            var table = [["domain", "variant", "experts", "used", "ppl", "dense ppl", "rise", "KL", "resident experts", "decode tok/s", "residency (decode)"]]
            for r in rows {
                var residency = ""
                if let h = r.hitRate, let st = r.stallMsPerToken { residency = String(format: "%.1f %% from memory, stall %.2f ms/token", 100 * h, st) }
                if let re = r.reroutedShare { residency = String(format: "%.1f %% of picks rerouted", 100 * re) }
                table.append([r.domain, r.variant, "\(r.experts)", "\(r.used)", String(format: "%.3f", r.perplexity), String(format: "%.3f", r.densePerplexity),
                              String(format: "%+.1f %%", 100 * r.rise), String(format: "%.4f", r.kl),
                              String(format: "%.1f MB", Double(r.residentExpertBytes) / 1e6), String(format: "%.1f", r.decodeTokensPerSecond), residency])
            }
            print(Table.render(table))
        }
    }

    func domainNames() throws -> [String] {
        if let domains { return domains.split(separator: ",").map(String.init) }
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: corpus) else {
            throw UsageError(message: "--corpus \(corpus): cannot list it; make one with tools/make-corpus.py --out \(corpus)")
        }
        let names = files.filter { $0.hasSuffix(".test.txt") }.map { String($0.dropLast(9)) }.filter { files.contains("\($0).train.txt") }.sorted()
        guard !names.isEmpty else { throw UsageError(message: "--corpus \(corpus) has no NAME.test.txt with a NAME.train.txt; make one with tools/make-corpus.py --out \(corpus)") }
        return names
    }

    static let decodeTokens = 48

    /// Greedy decode speed: 48 tokens after a 16-token prompt, the decode timed.
    static func decodeSpeed(_ t: Transformer) throws -> Double {
        t.reset()
        var logits = try t.forward(tokens: Array(repeating: 1, count: 16))
        t.residency?.resetStats()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<decodeTokens { logits = try t.forward(token: Sampler.argmax(logits)) }
        return Double(decodeTokens) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    private func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}
