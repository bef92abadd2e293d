import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInference
import MicroturnInteraction

/// Fitting the turn-end model on generated dialogs (`microturn bench fit-turns`): bench and test
/// scaffolding, kept out of the runtime library.
extension TurnEndModel {
    /// Fits by gradient descent on the mean log loss, with a little L2 on the weights (the cues are
    /// correlated, and a handful of voices should not get extreme weights). Classes are weighted
    /// equally, however many of each there are.
    public static func fit(_ samples: [Sample], l2: Double = 0.01, steps: Int = 4000) -> TurnEndModel {
        let dims = samples.first?.features.count ?? 0
        var w = [Double](repeating: 0, count: dims), b = 0.0
        let positives = Double(samples.filter(\.ended).count), negatives = Double(samples.count) - positives
        guard positives > 0, negatives > 0 else { return TurnEndModel(bias: positives > 0 ? 5 : -5, weights: w) }
        let rate = 0.5
        for _ in 0..<steps {
            var gw = [Double](repeating: 0, count: dims), gb = 0.0
            for s in samples {
                let z = zip(w, s.features).reduce(b) { $0 + $1.0 * $1.1 }
                let p = 1 / (1 + exp(-z))
                let weight = s.ended ? 0.5 / positives : 0.5 / negatives
                let err = (p - (s.ended ? 1 : 0)) * weight
                for j in 0..<dims { gw[j] += err * s.features[j] }
                gb += err
            }
            for j in 0..<dims { w[j] -= rate * (gw[j] + l2 * w[j]) }
            b -= rate * gb
        }
        return TurnEndModel(bias: b, weights: w)
    }

    /// The weights of the local model's judgement from the words (`WordsTurnEnd.Weights`) on top of
    /// `self`'s log-odds, as the session adds it with `model.words_weight` 1 and `words_center` 0.5.
    /// The two slopes come from a logistic fit of the label on the logits of the model's two
    /// next-token probabilities after the words, said after what the device had said
    /// (`next(words, deviceSaid)`): on the stops that have words, with this model's log-odds as a
    /// fixed offset; and on every other word-prefix of their turns, unfinished, with none. The prefixes are
    /// the stops in mid-phrase a recognizer gives and a script does not ("how do i get to"): without
    /// them the fit learns that no goes-on mark means the end. Ends, other stops and prefixes weigh
    /// the same in all. The bias is then as low as it can be while 95 % of the ordinary turn ends with
    /// words still wait at most `endWaitMarginMs` more than the shortest wait: the words hold pauses as
    /// much as the latency budget allows.
    public func fitWords(_ samples: [Sample], next: (_ words: String, _ deviceSaid: String) throws -> WordsTurnEnd.Next,
                         waits: TurnTakingPolicy.Waits, endWaitMarginMs: Int) throws -> WordsTurnEnd.Weights? {
        struct Heard: Hashable, Comparable {
            var deviceSaid: String, words: String
            static func < (a: Heard, b: Heard) -> Bool { (a.deviceSaid, a.words) < (b.deviceSaid, b.words) }
        }
        let worded = samples.filter { !$0.words.isEmpty }
        let said = Set(worded.map { Heard(deviceSaid: $0.deviceSaid, words: WordsTurnEnd.normalize($0.words)) })
        var prefixes = Set<Heard>()
        for turn in Set(worded.filter { $0.kind == "turn" }.map { Heard(deviceSaid: $0.deviceSaid, words: $0.text) }) {
            let words = WordsTurnEnd.normalize(turn.words).split(separator: " ")
            for k in 1..<max(1, words.count) {
                let prefix = Heard(deviceSaid: turn.deviceSaid, words: words[..<k].joined(separator: " "))
                if !said.contains(prefix) { prefixes.insert(prefix) }
            }
        }
        let positives = Double(worded.filter(\.ended).count), negatives = Double(worded.count) - positives
        guard positives > 0, negatives > 0, !prefixes.isEmpty else { return nil }
        func inputs(_ n: WordsTurnEnd.Next) -> [Double] { [WordsTurnEnd.logit(n.end), WordsTurnEnd.logit(n.goesOn), 1] }
        // (inputs, offset, ended, weight) per example.
        var examples = try worded.map { s in
            (inputs(try next(s.words, s.deviceSaid)), logit(vector: s.features), s.ended, s.ended ? 0.5 / positives : 0.5 / negatives)
        }
        // (Sorted, so that prefixes after the same line share the model's cache of it.)
        examples += try prefixes.sorted().map { (inputs(try next($0.words, $0.deviceSaid)), 0.0, false, 0.5 / Double(prefixes.count)) }
        // Newton's method on the three unknowns (the engine's ridge solve of the 3 x 3 system damps
        // each step a little; the fixed point, where the gradient is 0, is the same).
        var w = [0.0, 0.0, 0.0]
        for _ in 0..<50 {
            var g = [0.0, 0.0, 0.0], h = [Double](repeating: 0, count: 9)
            for (x, offset, ended, weight) in examples {
                let p = 1 / (1 + exp(-(offset + zip(w, x).reduce(0) { $0 + $1.0 * $1.1 })))
                let err = (p - (ended ? 1 : 0)) * weight, curve = p * (1 - p) * weight
                for j in 0..<3 {
                    g[j] += err * x[j]
                    for k in 0..<3 { h[j * 3 + k] += curve * x[j] * x[k] }
                }
            }
            guard let step = MoEfication.ridgeSolve(gram: &h, cross: &g, columns: 3, outputs: 1, floor: 0) else { break }
            for j in 0..<3 { w[j] -= step[j] }
        }
        let ends = examples.prefix(worded.count).enumerated().filter { worded[$0.offset].ended && worded[$0.offset].kind == "turn" }
            .map { $0.element.1 + w[0] * $0.element.0[0] + w[1] * $0.element.0[1] }
        guard let low = Percentile.of(ends.map { -$0 }, 95).map({ -$0 }) else { return nil }
        let allowed = log(waits.threshold / (1 - waits.threshold)) - Double(endWaitMarginMs) / Double(waits.msPerLogit)
        return WordsTurnEnd.Weights(end: w[0], goesOn: w[1], bias: allowed - low)
    }

    /// Training examples from one dialog: each stop in the user's speech that lasted long enough for
    /// the policy to decide on (`minSilence`), marked ended when it is at the annotated end of an
    /// utterance, not ended when speech of the same utterance follows (a pause or a long word gap).
    /// Stops outside any utterance (noise, echo) are left out.
    public static func samples(stops: [Session.Report.SpeechStop], labels: DialogLabels, dialog: String,
                               minSilence: Double = 0.14) -> [Sample] {
        let script = labels.scriptedWords().sorted { $0.start < $1.start }
        return stops.compactMap { stop in
            if let s = stop.silence, s < minSilence { return nil }
            guard let u = labels.utterances.first(where: { stop.time >= $0.start - 0.2 && stop.time <= $0.end + 0.3 }) else { return nil }
            let atPause = u.pauseStart.map { abs(stop.time - $0) < 0.3 } ?? false
            return Sample(features: stop.cues.vector, ended: stop.time >= u.end - 0.15, silence: stop.silence, kind: u.kind,
                          text: u.text, pauseKind: atPause ? (u.pauseKind ?? "pause") : nil, dialog: dialog,
                          words: LiveWords.scripted(script, upTo: ProcessingFormat.samples(seconds: stop.time), speaking: false),
                          deviceSaid: stop.deviceSaid ?? "")
        }
    }

    /// The labelled stops of every dialog in `folder`, each run with a silence timer long enough to
    /// hear out every pause (`bench fit-turns`, and the test that checks its weights are reproduced).
    public static func collect(folder: String, names: [String], config: MicroturnConfig,
                               progress: (Int, String, Int) -> Void = { _, _, _ in }) throws -> [Sample] {
        var listen = config
        listen.turn.predict = false
        listen.turn.endSilenceMs = 2000  // longer than any pause: every stop is heard out
        listen.turn.maxSilenceMs = 2000
        // The same dialog should give the same stops run after run. The command recognizer's
        // verdict near its margin (it ends a turn on a command's short wait) and the room's echo of
        // the device (where the playback thread ducks or stops it moves by a chunk) made them
        // differ, so stops are heard without commands and as the echo canceller would leave them.
        // Release runs on an idle host then give identical stops; a loaded host or a debug build
        // can still move a stop under the device's speech (see TurnEndFitTests).
        listen.commands.enabled = false
        listen.echo.enabled = false
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-fit-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var samples: [Sample] = []
        for (i, name) in names.enumerated() {
            let labels = try DialogScript.readLabels(path: "\(folder)/\(name).json")
            let result = try Simulation.run(files: .init(capture: "\(folder)/\(name).wav", playback: "\(work)/out.wav"),
                                            config: listen, fast: true, echoPath: nil)
            samples += Self.samples(stops: result.report.speechStops, labels: labels, dialog: name)
            progress(i + 1, name, samples.count)
        }
        return samples
    }

    /// One labelled stop.
    public struct Sample: Sendable, Equatable {
        public var features: [Double]
        public var ended: Bool
        /// How long the silence lasted, seconds (nil: until the turn was taken or the input ended).
        public var silence: Double?
        /// The utterance's kind (`turn`, `command`, `interruption`, `backchannel`) and words.
        public var kind: String
        public var text: String
        /// Set when the stop is the annotated pause inside a turn: what kind of place it is in.
        public var pauseKind: String?
        public var dialog: String
        /// The words a perfect recognizer had given by the stop (what the session's local model
        /// judges in a run on the script; "" before the first of them has ended).
        public var words: String
        /// What the device had said last ("" nothing yet): the local model judges the words as a
        /// reply to it.
        public var deviceSaid: String

        static let columns = TurnEndCues.Features.names + ["ended", "silence", "kind", "pause_kind", "dialog", "device_said", "words", "text"]

        /// The features with 4 decimals, as the CSV keeps them: a fit from the CSV and one from the
        /// run that wrote it see the same numbers.
        var csvRow: String {
            (features.map { String(format: "%.4f", $0) } + [ended ? "1" : "0", silence.map { String(format: "%.3f", $0) } ?? "",
             kind, pauseKind ?? "", dialog, Self.quoted(deviceSaid), Self.quoted(words), Self.quoted(text)]).joined(separator: ",")
        }

        static func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "'") + "\"" }

        init(features: [Double], ended: Bool, silence: Double?, kind: String, text: String, pauseKind: String?, dialog: String,
             words: String, deviceSaid: String) {
            self.features = features
            self.ended = ended
            self.silence = silence
            self.kind = kind
            self.text = text
            self.pauseKind = pauseKind
            self.dialog = dialog
            self.words = words
            self.deviceSaid = deviceSaid
        }

        /// Reads a row `csvRow` wrote (what the device said, the words and the text are last and
        /// quoted, so their commas are their own).
        init?(csvRow line: Substring) {
            guard let quote = line.firstIndex(of: "\"") else { return nil }
            let fields = line[..<quote].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let n = TurnEndCues.Features.names.count
            guard fields.count == n + 6, fields.last == "" else { return nil }
            let values = fields[0..<n].compactMap { Double($0) }
            guard values.count == n, values.allSatisfy(\.isFinite), fields[n] == "0" || fields[n] == "1" else { return nil }
            self.features = values
            self.ended = fields[n] == "1"
            self.silence = fields[n + 1].isEmpty ? nil : Double(fields[n + 1])
            self.kind = fields[n + 2]
            self.pauseKind = fields[n + 3].isEmpty ? nil : fields[n + 3]
            self.dialog = fields[n + 4]
            let quotedParts = line[quote...].components(separatedBy: "\",\"")
            guard quotedParts.count == 3, line.hasSuffix("\"") else { return nil }
            self.deviceSaid = String(quotedParts[0].dropFirst())
            self.words = quotedParts[1]
            self.text = String(quotedParts[2].dropLast())
        }
    }

    /// The stops as CSV, with a header naming the features in the order the weights use.
    public static func csv(_ samples: [Sample]) -> String {
        ([Sample.columns.joined(separator: ",")] + samples.map(\.csvRow)).joined(separator: "\n") + "\n"
    }

    /// Reads stops written by `csv`; the header must name today's features in today's order.
    public static func samples(csv text: String, path: String) throws(AudioError) -> [Sample] {
        var lines = text.split(separator: "\n")
        guard let header = lines.first, header == Sample.columns.joined(separator: ",") else {
            throw .fileIO(path: path, reason: "its header is not this version's turn-end features (\(Sample.columns.joined(separator: ","))); write it again with `bench fit-turns --dialogs DIR --samples-csv`")
        }
        lines.removeFirst()
        var samples: [Sample] = []
        for (i, line) in lines.enumerated() {
            guard let s = Sample(csvRow: line) else { throw .fileIO(path: path, reason: "line \(i + 2) is not a stop row") }
            samples.append(s)
        }
        return samples
    }

    /// The model as Swift, for pasting over `fitted`: the weights by input name.
    public var swiftLiteral: String {
        let ws = zip(TurnEndCues.Features.names, weights).map { "\"\($0)\": " + String(format: "%.3f", $1) }
        return String(format: "TurnEndModel(bias: %.3f, named: [\n        %@])", bias, ws.joined(separator: ", "))
    }

}
