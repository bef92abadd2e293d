import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnSimulation

struct FitTurns: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-turns",
        abstract: "Fit the turn-end model on labelled dialogs and show what it would do.",
        discussion: """
        Runs every dialog in --dialogs (use other seeds than the benchmark's) with a silence timer long
        enough to hear out every pause, collects the cues at each stop in the user's speech (labelled:
        end of the turn, or a pause inside it), fits the logistic turn-end model and prints it as the
        Swift line to put in TurnEndModel.fitted. It then replays the stops through the policy's waits
        (from the config: turn.end_silence_ms, max_silence_ms, threshold, ms_per_logit) for the new and
        the built-in model: how long turn ends wait and how many pauses the device would talk into.
        Example: microturn bench make-dialogs --out train --count 48 --turns 10 --seed 9001 --pause-every 2
                 microturn bench fit-turns --dialogs train
        """)

    @Option(help: "Folder of dialog-NNN.wav + dialog-NNN.json (from bench make-dialogs).")
    var dialogs: String

    @Option(help: "L2 penalty on the weights.")
    var l2 = 0.01

    @Option(help: "How much longer than turn.end_silence_ms 95% of turn ends may wait: sets the suggested turn.threshold.")
    var endWaitMarginMs = 120

    @Option(help: "Also write the labelled stops as CSV (one row per stop: cues, ended, silence).")
    var samplesCSV: String?

    @OptionGroup var settings: SettingsOptions

    func validate() throws {
        try FlagChecks.number(l2, "--l2", 0...1000)
        try FlagChecks.integer(endWaitMarginMs, "--end-wait-margin-ms", 0...5000)
    }

    func run() throws {
        try withExitCodes {
            let config = try settings.load()
            var listen = config
            listen.turn.predict = false
            listen.turn.endSilenceMs = 2000  // longer than any pause: every stop is heard out
            listen.turn.maxSilenceMs = 2000
            let names = try DialogFolder.names(in: dialogs)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-fit-\(getpid())").path
            try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            var samples: [TurnEndModel.Sample] = []
            for (i, name) in names.enumerated() {
                let labels = try DialogScript.readLabels(path: "\(dialogs)/\(name).json")
                let result = try Simulation.run(files: .init(capture: "\(dialogs)/\(name).wav", playback: "\(work)/out.wav"),
                                                config: listen, fast: true, echoPath: EchoPath.Spec(parsing: labels.echoPath))
                samples += TurnEndModel.samples(stops: result.report.speechStops, labels: labels)
                FileHandle.standardError.write(Data("\r[\(i + 1)/\(names.count)] \(name), \(samples.count) stops".utf8))
            }
            FileHandle.standardError.write(Data("\n".utf8))
            if let samplesCSV {
                let header = (TurnEndCues.Features.names + ["ended", "silence", "kind", "text"]).joined(separator: ",")
                let rows = samples.map { s in
                    (s.features.map { String(format: "%.4f", $0) } + [s.ended ? "1" : "0", s.silence.map { String(format: "%.3f", $0) } ?? "",
                     s.utterance.kind, "\"\(s.utterance.text)\""])
                        .joined(separator: ",")
                }
                do { try ([header] + rows).joined(separator: "\n").appending("\n").write(toFile: samplesCSV, atomically: true, encoding: .utf8) } catch {
                    throw AudioError.fileIO(path: samplesCSV, reason: "cannot write the samples (\(error.localizedDescription))")
                }
            }
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
            let endLogits = samples.filter { $0.ended && $0.utterance.kind == "turn" }.map { model.logit(vector: $0.features) }
            let low = Percentile.of(endLogits.map { -$0 }, 95).map { -$0 } ?? 0
            let thresholdLogit = low + Double(endWaitMarginMs) / Double(waits.msPerLogit)
            suggested.threshold = 1 / (1 + exp(-thresholdLogit))
            print(String(format: "suggested turn.threshold = %.3f (with turn.ms_per_logit = %d)", suggested.threshold, waits.msPerLogit))
            print("this fit, suggested threshold: " + Self.replay(samples, model: model, waits: suggested))
            print("built-in model and config:     " + Self.replay(samples, model: TurnEndModel.fitted, waits: waits))
        }
    }

    /// What the policy would do at these stops: waits at turn ends (p50/p95) and pauses talked into.
    static func replay(_ samples: [TurnEndModel.Sample], model: TurnEndModel,
                       waits: TurnTakingPolicy.Waits) -> String {
        func logit(_ x: [Double]) -> Double { model.logit(vector: x) }
        let endWaits = samples.filter(\.ended).map { Double(waits.silenceMs(logit: logit($0.features))) / 1000 }
        let pauses = samples.filter { !$0.ended && ($0.silence ?? 0) >= 0.3 }
        let taken = pauses.filter { Double(waits.silenceMs(logit: logit($0.features))) / 1000 < $0.silence! }.count
        let gaps = samples.filter { !$0.ended && ($0.silence ?? 0) < 0.3 }
        let gapsTaken = gaps.filter { Double(waits.silenceMs(logit: logit($0.features))) / 1000 < ($0.silence ?? 0) }.count
        return String(format: "turn-end wait p50 %.0f ms, p95 %.0f ms; pauses (>= 300 ms) talked into %d/%d; shorter gaps %d/%d",
                      1000 * (Percentile.of(endWaits, 50) ?? 0), 1000 * (Percentile.of(endWaits, 95) ?? 0),
                      taken, pauses.count, gapsTaken, gaps.count)
    }
}
