import ArgumentParser
import Foundation
import MicroturnCore
import MicroturnInference

struct BenchTurnWords: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "turn-words",
        abstract: "How well the local model tells a finished message from one that stops mid-phrase, from the words alone.",
        discussion: """
        Items come from the user lines of a corpus (tools/make-corpus.py): each line whole (finished) and \
        cut after a random number of its words (unfinished), plus a fixed list of phrases people pause \
        after ("i was thinking that maybe", "could you uh"). The threshold on P(end of turn) is chosen on \
        the train lines (best balanced accuracy) and reported on the held-out test lines, whose phrasings \
        and topics the train side never has. Latency is per judgement on --threads, with the chat \
        template's fixed beginning kept in the cache as the device keeps it.

        Example: microturn bench turn-words --model models/SmolLM2-135M-Instruct.Q4_1.gguf --corpus corpus
        """)

    @Option(help: "The .gguf chat model.")
    var model: String

    @Option(help: "The corpus folder (tools/make-corpus.py --out).")
    var corpus: String

    @Option(help: "User lines per domain and side.")
    var lines = 40

    @Option(help: "Seed of the cuts.")
    var seed: UInt64 = 1

    @OptionGroup var engineThreads: EngineThreads

    func validate() throws { try FlagChecks.integer(lines, "--lines", 1...100_000) }

    /// Phrases a person pauses after without being done (none of them is in the corpus).
    static let pauses = ["i was thinking that maybe", "could you uh", "so what i want is", "and then", "can you tell me about the",
                         "i need to", "what time does the", "my knees hurt when i", "let's do three sets of", "um so",
                         "how do i get to", "is it bad to", "the thing is", "because", "i'd like to know if"]

    struct Item { let text: String; let finished: Bool }

    func items(_ side: String) throws -> [Item] {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: corpus) else {
            throw UsageError(message: "--corpus \(corpus): cannot list it; make one with tools/make-corpus.py --out \(corpus)")
        }
        var random = SplitMix64(seed: seed &+ (side == "test" ? 1 : 0))
        var out: [Item] = []
        for name in files.filter({ $0.hasSuffix(".\(side).txt") && !$0.hasPrefix("all.") }).sorted() {
            let text = try TextFile.read("\(corpus)/\(name)", flag: "--corpus")
            let users = text.split(separator: "\n").filter { $0.hasPrefix("User: ") }.map { WordsTurnEnd.normalize(String($0.dropFirst(6))) }
            for line in Array(Set(users)).sorted().shuffled(using: &random).prefix(lines) {
                let words = line.split(separator: " ")
                out.append(Item(text: line, finished: true))
                if words.count >= 2 { out.append(Item(text: words.prefix(Int.random(in: 1..<words.count, using: &random)).joined(separator: " "), finished: false)) }
            }
        }
        guard !out.isEmpty else { throw UsageError(message: "--corpus \(corpus) has no NAME.\(side).txt with User: lines; make one with tools/make-corpus.py --out \(corpus)") }
        return out
    }

    func run() throws {
        try withExitCodes {
            let judge = try WordsTurnEnd(generator: Generator(path: model, threads: engineThreads.resolve()))
            var latencies: [Double] = []
            func score(_ items: [Item]) throws -> [(p: Double, finished: Bool)] {
                try items.map { item in
                    let start = DispatchTime.now().uptimeNanoseconds
                    let p = try judge.probability(item.text)
                    latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                    return (p, item.finished)
                }
            }
            FileHandle.standardError.write(Data("bench turn-words: train lines\n".utf8))
            let train = try score(items("train"))
            FileHandle.standardError.write(Data("bench turn-words: test lines\n".utf8))
            let test = try score(items("test"))
            let pauses = try score(Self.pauses.map { Item(text: $0, finished: false) })
            // The threshold: best balanced accuracy on train (between two neighbouring scores).
            let candidates = train.map(\.p).sorted()
            var best = (threshold: 0.5, accuracy: 0.0)
            for (a, b) in zip(candidates, candidates.dropFirst()) {
                let th = (a + b) / 2, acc = Self.balanced(train, th)
                if acc > best.accuracy { best = (th, acc) }
            }
            let finished = test.filter(\.finished), unfinished = test.filter { !$0.finished }
            let sorted = latencies.sorted()
            print("bench turn-words: \(model), P(end of turn) from the words; threshold \(String(format: "%.4f", best.threshold)) chosen on \(train.count) train items (balanced accuracy \(String(format: "%.3f", best.accuracy)))")
            print(Table.render([
                ["held-out set", "items", "judged as a person would", ""],
                ["finished messages (test lines)", "\(finished.count)", Self.percent(finished.filter { $0.p >= best.threshold }.count, finished.count), "judged done"],
                ["cut mid-message (test lines)", "\(unfinished.count)", Self.percent(unfinished.filter { $0.p < best.threshold }.count, unfinished.count), "judged not done"],
                ["pauses after incomplete phrases", "\(pauses.count)", Self.percent(pauses.filter { $0.p < best.threshold }.count, pauses.count), "judged not done"],
            ]))
            print(String(format: "test: balanced accuracy %.3f, AUC %.3f; latency per judgement p50 %.1f ms, p95 %.1f ms (%d judgements)",
                         Self.balanced(test, best.threshold), Self.auc(test), sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 95 / 100)], sorted.count))
        }
    }

    static func balanced(_ s: [(p: Double, finished: Bool)], _ th: Double) -> Double {
        let f = s.filter(\.finished), u = s.filter { !$0.finished }
        return (Double(f.filter { $0.p >= th }.count) / Double(max(1, f.count)) + Double(u.filter { $0.p < th }.count) / Double(max(1, u.count))) / 2
    }

    /// The chance a finished item scores above an unfinished one (ties count half).
    static func auc(_ s: [(p: Double, finished: Bool)]) -> Double {
        let f = s.filter(\.finished).map(\.p), u = s.filter { !$0.finished }.map(\.p)
        var wins = 0.0
        for a in f { for b in u { wins += a > b ? 1 : a == b ? 0.5 : 0 } }
        return wins / Double(max(1, f.count * u.count))
    }

    static func percent(_ n: Int, _ of: Int) -> String { String(format: "%d (%.0f %%)", n, 100 * Double(n) / Double(max(1, of))) }
}
