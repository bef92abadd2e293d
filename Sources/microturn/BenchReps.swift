import ArgumentParser
import Foundation
import MicroturnVision

struct BenchReps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reps",
        abstract: "Repetition counting accuracy and cost on clips with ground truth, beside a plain baseline.",
        discussion: """
        Reads every clip-NNN.y4m with its clip-NNN.json (tools/make-clips.py writes them) and counts \
        with the online counter and, in the same run, with a plain baseline (frame-difference \
        energy, peaks counted and halved). Prints MAE (|counted - true| / true, averaged) and \
        off-by-one accuracy (share of clips within one of the truth), per exercise and per \
        nuisance, and the counter's cost per frame (release build, one core; reading the file not \
        included).

        Example: python3 tools/make-clips.py --out out/clips --count 24 && microturn bench reps --clips out/clips

        The hard cases (small movements and an exerciser far away, a second person walking behind, an \
        on-screen clock and ticker over a quarter of the picture), on a seed nothing was tuned on:
        python3 tools/make-clips.py --out out/hard --cases hard --count 30 --seed 2 && microturn bench reps --clips out/hard
        """)

    @Option(help: "A folder of clip-NNN.y4m files with their clip-NNN.json ground truth.")
    var clips: String

    @Flag(help: "Print one JSON object.")
    var json = false

    struct Truth: Decodable {
        let exercise: String
        let total: Int
        let nuisances: [String]
    }

    struct Result {
        let name: String, exercise: String, nuisance: String, truth: Int, counted: Int, baseline: Int
    }

    func run() throws {
        try withExitCodes {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: clips).filter { $0.hasPrefix("clip-") && $0.hasSuffix(".y4m") }.sorted()
            } catch {
                throw UsageError(message: "--clips: cannot read \(clips) (\(error.localizedDescription)); make clips with tools/make-clips.py")
            }
            guard !names.isEmpty else { throw UsageError(message: "--clips: no clip-NNN.y4m in \(clips); make them with tools/make-clips.py") }
            var results: [Result] = [], frameTimes: [Double] = []
            for name in names {
                let base = (clips as NSString).appendingPathComponent(String(name.dropLast(4)))
                guard let data = FileManager.default.contents(atPath: base + ".json"),
                      let truth = try? JSONDecoder().decode(Truth.self, from: data) else {
                    throw UsageError(message: "\(base).json: missing or not the ground truth make-clips.py writes")
                }
                let reader = try Y4MReader(path: base + ".y4m")
                let counter = RepetitionCounter()
                var baseline = MotionEnergyBaseline()
                while let frame = try reader.next() {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = counter.process(frame)
                    frameTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                    baseline.process(frame)
                }
                _ = counter.finish()
                let nuisance = truth.nuisances.isEmpty ? "clean" : truth.nuisances.joined(separator: "+")
                results.append(Result(name: name, exercise: truth.exercise, nuisance: nuisance, truth: truth.total, counted: counter.total, baseline: baseline.count))
                FileHandle.standardError.write(Data("bench reps: \(name): \(truth.exercise), \(nuisance), truth \(truth.total), counted \(counter.total), baseline \(baseline.count)\n".utf8))
            }
            report(results, frameTimes: frameTimes.sorted())
        }
    }

    /// MAE and off-by-one accuracy of `pick` over `rows`.
    static func scores(_ rows: [Result], _ pick: (Result) -> Int) -> (mae: Double, obo: Double) {
        let mae = rows.reduce(0.0) { $0 + Double(abs(pick($1) - $1.truth)) / Double(max(1, $1.truth)) } / Double(rows.count)
        let obo = Double(rows.filter { abs(pick($0) - $0.truth) <= 1 }.count) / Double(rows.count)
        return (mae, obo)
    }

    func report(_ results: [Result], frameTimes: [Double]) {
        let groups: [(String, [Result])] = [("all", results)]
            + Set(results.map(\.exercise)).sorted().map { e in (e, results.filter { $0.exercise == e }) }
            + Set(results.map(\.nuisance)).sorted().map { n in (n, results.filter { $0.nuisance == n }) }
        let p50 = frameTimes[frameTimes.count / 2], p95 = frameTimes[min(frameTimes.count - 1, frameTimes.count * 95 / 100)]
        let mean = frameTimes.reduce(0, +) / Double(frameTimes.count)
        let f = { (v: Double) in String(format: "%.3f", v) }
        if json {
            let rows = groups.map { name, rows in
                let c = Self.scores(rows, \.counted), b = Self.scores(rows, \.baseline)
                return "{\"group\":\"\(name)\",\"clips\":\(rows.count),\"mae\":\(f(c.mae)),\"off_by_one\":\(f(c.obo)),\"baseline_mae\":\(f(b.mae)),\"baseline_off_by_one\":\(f(b.obo))}"
            }
            print("{\"clips\":\(results.count),\"frames\":\(frameTimes.count),\"ms_per_frame\":{\"mean\":\(f(mean)),\"p50\":\(f(p50)),\"p95\":\(f(p95))},\"groups\":[\(rows.joined(separator: ","))]}")
            return
        }
        print("\(clips): \(results.count) clips, \(frameTimes.count) frames")
        print("group".padding(toLength: 16, withPad: " ", startingAt: 0) + "clips   MAE   off-by-one   | baseline MAE   off-by-one")
        for (name, rows) in groups {
            let c = Self.scores(rows, \.counted), b = Self.scores(rows, \.baseline)
            print(name.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "%5d  %5.3f  %6.2f       | %8.3f  %8.2f", rows.count, c.mae, c.obo, b.mae, b.obo))
        }
        print(String(format: "counter cost per frame: mean %.3f ms, p50 %.3f, p95 %.3f (one core)", mean, p50, p95))
    }
}
