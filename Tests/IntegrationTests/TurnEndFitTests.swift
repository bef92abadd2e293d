import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
@testable import MicroturnSimulation
import Testing

/// The built-in turn-end weights are reproduced by the documented command (`bench fit-turns`, see
/// `TurnEndModel.fitted`): the checked-in stops give those weights, and the first dialog of the
/// documented training set, made and heard again here, gives the same stops as the checked-in ones.
@Suite struct TurnEndFitTests {
    static let stopsPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("training/turn-end-stops.csv").path

    static func checkedInStops() throws -> [TurnEndModel.Sample] {
        try TurnEndModel.samples(csv: String(contentsOfFile: stopsPath, encoding: .utf8), path: stopsPath)
    }

    @Test func theBuiltInWeightsAreTheFitOfTheCheckedInStops() throws {
        let stops = try Self.checkedInStops()
        #expect(stops.count > 500)
        let model = TurnEndModel.fit(stops)
        let fitted = TurnEndModel.fitted
        #expect(abs(model.bias - fitted.bias) < 0.0006, "bias \(model.bias) against \(fitted.bias)")
        for (name, (w, f)) in zip(TurnEndCues.Features.names, zip(model.weights, fitted.weights)) {
            #expect(abs(w - f) < 0.0006, "\(name): the stops fit \(w), the built-in model has \(f): refit and paste")
        }
    }

    @Test func theFirstTrainingDialogGivesTheCheckedInStops() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("turn-end-fit-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // dialog-001 of the documented set: seed 9001, the training material.
        let dialog = try DialogScript.make(seed: 9001, turns: 10, commandEvery: 7, backchannelEvery: 0, pauseEvery: 2,
                                           material: .training)
        try DialogScript.write(dialog, name: "dialog-001", directory: dir)
        let heard = try TurnEndModel.collect(folder: dir, names: ["dialog-001"], config: MicroturnConfig())
        let kept = try Self.checkedInStops().filter { $0.dialog == "dialog-001" }
        // A debug build (the tests') and a release build (the command's) do not hear every stop
        // alike (a VAD decision near its margin can add or drop one), so this compares what the
        // fit is made of: how many turn ends and pauses, and the weights the stops give.
        let ends = (heard.filter(\.ended).count, kept.filter(\.ended).count)
        let pauses = (heard.filter { $0.pauseKind != nil }.count, kept.filter { $0.pauseKind != nil }.count)
        #expect(kept.count >= 10 && abs(heard.count - kept.count) <= 2, "\(heard.count) stops heard, \(kept.count) kept")
        #expect(abs(ends.0 - ends.1) <= 1 && pauses.0 == pauses.1, "turn ends \(ends), pauses \(pauses) (heard, kept)")
        let a = TurnEndModel.fit(heard, l2: 0.1), b = TurnEndModel.fit(kept, l2: 0.1)
        for (name, (x, y)) in zip(TurnEndCues.Features.names + ["bias"], zip(a.weights + [a.bias], b.weights + [b.bias])) {
            #expect(abs(x - y) < 0.15, "\(name): \(x) heard here, \(y) from the checked-in stops")
        }
    }

    @Test func stopsWithOtherFeaturesAreRefused() {
        let header = "final_slope,final_pitch,ended,silence,kind,pause_kind,dialog,text\n0,0,1,,turn,,d,\"x\"\n"
        #expect(throws: AudioError.self) { try TurnEndModel.samples(csv: header, path: "old.csv") }
    }
}
