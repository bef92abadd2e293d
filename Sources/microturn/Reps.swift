import ArgumentParser
import Foundation
import MicroturnVision

struct Reps: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count exercise repetitions in a video, printing each as it happens.",
        discussion: """
        Reads a YUV4MPEG2 file (.y4m; `ffmpeg -i IN -pix_fmt yuv420p OUT.y4m` makes one, \
        tools/make-clips.py makes synthetic ones with ground truth) as a camera would deliver it, and \
        counts repetitions online from the motion in the picture (on a 40x30 copy of each frame): \
        sets starting and \
        ending, each repetition with its start, end and confidence, then the total. Half-done \
        repetitions are not counted.

        Example: microturn reps --video-file squats.y4m --json
        """)

    @Option(help: "A YUV4MPEG2 (.y4m) video file.")
    var videoFile: String

    @Flag(help: "One JSON object per line (events, then the total).")
    var json = false

    func run() throws {
        try withExitCodes {
            let reader = try Y4MReader(path: videoFile)
            let counter = RepetitionCounter()
            var frames = 0
            // A damaged stream still gets the count of what came before the damage, then the error.
            var failure: Error?
            do {
                while let frame = try reader.next() {
                    frames += 1
                    for e in counter.process(frame) { Self.print(e, json: json) }
                }
            } catch {
                failure = error
            }
            for e in counter.finish() { Self.print(e, json: json) }
            if json {
                Swift.print("{\"total\":\(counter.total),\"frames\":\(frames)}")
            } else {
                Swift.print("total: \(counter.total) repetitions in \(frames) frames")
            }
            if let failure { throw failure }
        }
    }

    static func print(_ e: RepetitionEvent, json: Bool) {
        let f = { (v: Double) in String(format: "%.2f", v) }
        switch e {
        case let .setStart(time):
            Swift.print(json ? "{\"event\":\"set_start\",\"time\":\(f(time))}" : "\(f(time)) s  set starts")
        case let .repetition(number, start, end, confidence):
            Swift.print(json ? "{\"event\":\"repetition\",\"number\":\(number),\"start\":\(f(start)),\"end\":\(f(end)),\"duration\":\(f(end - start)),\"confidence\":\(f(confidence))}"
                : "\(f(end)) s  repetition \(number) (\(f(end - start)) s, confidence \(f(confidence)))")
        case let .setEnd(time, count):
            Swift.print(json ? "{\"event\":\"set_end\",\"time\":\(f(time)),\"count\":\(count)}" : "\(f(time)) s  set ends: \(count)")
        }
    }
}
