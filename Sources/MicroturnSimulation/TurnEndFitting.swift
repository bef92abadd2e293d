import Foundation
import MicroturnAudio
import MicroturnCore
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

    /// Training examples from one dialog: each stop in the user's speech that lasted long enough for
    /// the policy to decide on (`minSilence`), marked ended when it is at the annotated end of an
    /// utterance, not ended when speech of the same utterance follows (a pause or a long word gap).
    /// Stops outside any utterance (noise, echo) are left out.
    public static func samples(stops: [Session.Report.SpeechStop], labels: DialogLabels, dialog: String,
                               minSilence: Double = 0.14) -> [Sample] {
        stops.compactMap { stop in
            if let s = stop.silence, s < minSilence { return nil }
            guard let u = labels.utterances.first(where: { stop.time >= $0.start - 0.2 && stop.time <= $0.end + 0.3 }) else { return nil }
            let atPause = u.pauseStart.map { abs(stop.time - $0) < 0.3 } ?? false
            return Sample(features: stop.cues.vector, ended: stop.time >= u.end - 0.15, silence: stop.silence, kind: u.kind,
                          text: u.text, pauseKind: atPause ? (u.pauseKind ?? "pause") : nil, dialog: dialog)
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

        static let columns = TurnEndCues.Features.names + ["ended", "silence", "kind", "pause_kind", "dialog", "text"]

        /// The features with 4 decimals, as the CSV keeps them: a fit from the CSV and one from the
        /// run that wrote it see the same numbers.
        var csvRow: String {
            (features.map { String(format: "%.4f", $0) } + [ended ? "1" : "0", silence.map { String(format: "%.3f", $0) } ?? "",
             kind, pauseKind ?? "", dialog, "\"" + text.replacingOccurrences(of: "\"", with: "'") + "\""]).joined(separator: ",")
        }

        init(features: [Double], ended: Bool, silence: Double?, kind: String, text: String, pauseKind: String?, dialog: String) {
            self.features = features
            self.ended = ended
            self.silence = silence
            self.kind = kind
            self.text = text
            self.pauseKind = pauseKind
            self.dialog = dialog
        }

        /// Reads a row `csvRow` wrote (the text is last and quoted, so its commas are its own).
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
            self.text = String(line[line.index(after: quote)...].dropLast(line.hasSuffix("\"") ? 1 : 0))
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
