import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInference
import MicroturnInteraction
import MicroturnSimulation

struct FitTurns: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-turns",
        abstract: "Fit the turn-end model on labelled dialogs and show what it would do.",
        discussion: """
        Runs every dialog in --dialogs with a silence timer long enough to hear out every pause (and without \
        commands or the room's echo, so the same dialogs always give the same stops), collects \
        the cues at each stop in the user's speech (labelled: end of the turn, or a pause inside it), fits \
        the logistic turn-end model and prints it as the Swift to put in TurnEndModel.fitted. It then \
        replays the stops through the policy's waits (from the config: turn.end_silence_ms, max_silence_ms, \
        threshold, ms_per_logit) for the new and the built-in model: how long turn ends wait and how many \
        pauses the device would talk into, by kind of pause. --held-out does the same on dialogs the fit \
        never saw; judge a fit there.
        --dialogs and --held-out also take the CSV that --samples-csv wrote, which skips the simulation.
        With --local-model, it also fits how the model's judgement from the words (the words a \
        perfect recognizer had given by each stop, after what the device had said) joins the prosody model's log-odds: the weights of \
        its two next-token probabilities (WordsTurnEnd.Weights: slopes from a logistic fit, the bias as \
        low as --end-wait-margin-ms allows at turn ends), and replays prosody and words together. The \
        built-in words weights come from:
          microturn bench fit-turns --dialogs training/turn-end-stops.csv --local-model models/SmolLM2-135M-Instruct.Q4_1.gguf
        The built-in weights come from (the stops are kept in training/turn-end-stops.csv):
          microturn bench make-dialogs --material training --out train --count 32 --turns 10 --seed 9001 \\
            --pause-every 2 --command-every 7 --backchannel-every 0
          microturn bench fit-turns --dialogs train --samples-csv training/turn-end-stops.csv
        """)

    @Option(help: "Folder of dialog-NNN.wav + dialog-NNN.json (from bench make-dialogs), or a CSV from --samples-csv.")
    var dialogs: String

    @Option(help: "Dialogs to judge the fit on (other voices, sentences and seeds), or their CSV.")
    var heldOut: String?

    @Option(help: "L2 penalty on the weights.")
    var l2 = 0.01

    @Option(help: "How much longer than turn.end_silence_ms 95% of turn ends may wait: sets the suggested turn.threshold.")
    var endWaitMarginMs = 120

    @Option(help: "Also write the labelled stops of --dialogs as CSV (one row per stop: cues, ended, silence, kind, dialog, what the device had said, words).")
    var samplesCSV: String?

    @Option(help: "A chat model (.gguf): also fit and replay its judgement from the words (WordsTurnEnd.Weights).")
    var localModel: String?

    @OptionGroup var settings: SettingsOptions

    func validate() throws {
        try FlagChecks.number(l2, "--l2", 0...1000)
        try FlagChecks.integer(endWaitMarginMs, "--end-wait-margin-ms", 0...5000)
    }

    func run() throws {
        try withExitCodes {
            let config = try settings.load()
            var samples = try Self.stops(dialogs, config: config)
            if let samplesCSV {
                let text = TurnEndModel.csv(samples)
                do { try text.write(toFile: samplesCSV, atomically: true, encoding: .utf8) } catch {
                    throw AudioError.fileIO(path: samplesCSV, reason: "cannot write the samples (\(error.localizedDescription))")
                }
                // Fit on the 4 decimals the CSV keeps, so that a fit from the CSV gives these weights.
                samples = try TurnEndModel.samples(csv: text, path: samplesCSV)
            }
            let heldOutSamples = try heldOut.map { try Self.stops($0, config: config) }
            let model = TurnEndModel.fit(samples, l2: l2)
            print("stops: \(samples.filter(\.ended).count) turn ends, \(samples.filter { !$0.ended }.count) pauses and gaps")
            for (name, w) in zip(TurnEndCues.Features.names, model.weights) {
                print(name.padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: "%8.3f", w))
            }
            print("bias".padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: "%8.3f", model.bias))
            print("\n    public static let fitted = \(model.swiftLiteral)\n")
            let waits = TurnTakingPolicy(config: config).waits
            // The threshold at which 95% of the ends of ordinary turns (commands have their own wait)
            // wait at most the margin more than the shortest wait.
            var suggested = waits
            let endLogits = samples.filter { $0.ended && $0.kind == "turn" }.map { model.logit(vector: $0.features) }
            let low = Percentile.of(endLogits.map { -$0 }, 95).map { -$0 } ?? 0
            let thresholdLogit = low + Double(endWaitMarginMs) / Double(waits.msPerLogit)
            suggested.threshold = 1 / (1 + exp(-thresholdLogit))
            print(String(format: "suggested turn.threshold = %.3f (with turn.ms_per_logit = %d)", suggested.threshold, waits.msPerLogit))
            let judge = try localModel.map {
                try WordsJudgements(model: $0, threads: config.board.threads)
            }
            var words: WordsTurnEnd.Weights?
            if let judge {
                // Fitted on this fit's log-odds at the policy's own threshold, as the session uses it.
                words = try model.fitWords(samples, next: { try judge.next($0, deviceSaid: $1) }, waits: waits, endWaitMarginMs: endWaitMarginMs)
                print("\nwith the words (model.words_weight = 1, model.words_center = 0.5):\n    public static let fitted = "
                      + (words?.swiftLiteral ?? "nothing: no stop with words, or only one kind"))
            }
            for (set, stops) in [("fitted on", samples), ("held out", heldOutSamples)] {
                guard let stops else { continue }
                print("\n\(set) (\(stops.count) stops):")
                print("  this fit, suggested threshold: " + Self.replay(stops, model: model, waits: suggested))
                print("  built-in model and config:     " + Self.replay(stops, model: TurnEndModel.fitted, waits: waits))
                guard let judge, let words else { continue }
                print("  this fit + these words:        " + Self.replay(stops, model: model, waits: waits,
                                                                        words: try judge.term(words, weight: 1, center: 0.5, at: stops)))
                print("  built-in + built-in words:     " + Self.replay(stops, model: TurnEndModel.fitted, waits: waits,
                                                                        words: try judge.term(.fitted, weight: config.model.wordsWeight, center: config.model.wordsCenter, at: stops)))
            }
        }
    }

    /// What the local model gives next after every stop's words (said after the device's line),
    /// each distinct pair run once.
    final class WordsJudgements {
        let judge: WordsTurnEnd
        var known: [[String]: WordsTurnEnd.Next] = [:]
        init(model: String, threads: Int) throws { judge = try WordsTurnEnd(generator: Generator(path: model, threads: threads)) }
        func next(_ words: String, deviceSaid: String) throws -> WordsTurnEnd.Next {
            if let n = known[[deviceSaid, words]] { return n }
            let n = try judge.next(words, after: deviceSaid)
            known[[deviceSaid, words]] = n
            return n
        }
        /// What the words add to a stop's log-odds, as the session adds it (none without words).
        func term(_ weights: WordsTurnEnd.Weights?, weight: Double, center: Double, at stops: [TurnEndModel.Sample]) throws -> (TurnEndModel.Sample) -> Double {
            guard let weights else { return { _ in 0 } }
            var terms: [[String]: Double] = [:]
            for s in stops where !s.words.isEmpty {
                terms[[s.deviceSaid, s.words]] = weight * (WordsTurnEnd.logit(weights.probability(try next(s.words, deviceSaid: s.deviceSaid)))
                                                           - WordsTurnEnd.logit(center))
            }
            return { s in terms[[s.deviceSaid, s.words]] ?? 0 }
        }
    }

    /// The labelled stops of a dialog folder (simulated here) or of a CSV written by --samples-csv.
    static func stops(_ path: String, config: MicroturnConfig) throws -> [TurnEndModel.Sample] {
        if path.hasSuffix(".csv") {
            return try TurnEndModel.samples(csv: try TextFile.read(path, flag: "--dialogs/--held-out"), path: path)
        }
        let names = try DialogFolder.names(in: path)
        let samples = try TurnEndModel.collect(folder: path, names: names, config: config) { done, name, count in
            FileHandle.standardError.write(Data("\r[\(done)/\(names.count)] \(name), \(count) stops".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        return samples
    }

    /// What the policy would do at these stops: waits at turn ends (p50/p95, and for questions on a
    /// rise) and the annotated pauses it would talk into, by kind.
    static func replay(_ samples: [TurnEndModel.Sample], model: TurnEndModel,
                       waits: TurnTakingPolicy.Waits, words: (TurnEndModel.Sample) -> Double = { _ in 0 }) -> String {
        func wait(_ s: TurnEndModel.Sample) -> Double { Double(waits.silenceMs(logit: model.logit(vector: s.features) + words(s))) / 1000 }
        func talkedInto(_ s: TurnEndModel.Sample) -> Bool { s.silence.map { wait(s) < $0 } ?? false }
        // Ordinary turns: a command has its own short wait, and a backchannel or an interruption
        // under the device's speech is not a turn the device takes.
        let endWaits = samples.filter { $0.ended && $0.kind == "turn" }.map(wait)
        let questionWaits = samples.filter { $0.ended && $0.kind == "turn" && $0.text.hasSuffix("?") }.map(wait)
        let pauses = samples.filter { $0.pauseKind != nil && ($0.silence ?? 0) >= 0.3 }
        let kinds = Set(pauses.compactMap(\.pauseKind)).sorted()
        let byKind = kinds.map { k in
            let p = pauses.filter { $0.pauseKind == k }
            return "\(k) \(p.filter(talkedInto).count)/\(p.count)"
        }
        let gaps = samples.filter { !$0.ended && $0.pauseKind == nil }
        return String(format: "turn-end wait p50 %.0f ms, p95 %.0f ms (rising questions p95 %.0f ms); ",
                      1000 * (Percentile.of(endWaits, 50) ?? 0), 1000 * (Percentile.of(endWaits, 95) ?? 0),
                      1000 * (Percentile.of(questionWaits, 95) ?? 0))
            + "pauses talked into \(pauses.filter(talkedInto).count)/\(pauses.count) (\(byKind.joined(separator: ", "))); "
            + "other gaps \(gaps.filter(talkedInto).count)/\(gaps.count)"
    }
}
