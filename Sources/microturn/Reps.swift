import ArgumentParser
import Foundation
import MicroturnVision

struct Reps: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count exercise repetitions in a video, printing each as it happens.",
        discussion: """
        Reads a V4L2 camera (--camera, or the board profile's board.camera) or a YUV4MPEG2 file \
        (.y4m; `ffmpeg -i IN -pix_fmt yuv420p OUT.y4m` makes one, tools/make-clips.py makes \
        synthetic ones with ground truth, --record keeps what a camera saw) and counts repetitions \
        online from the motion in the picture (on a 40x30 copy of each frame): sets starting and \
        ending, each repetition with its start, end and confidence, then the total. Half-done \
        repetitions are not counted. A camera that vanishes or stalls is reopened with backoff; \
        the summary says how many frames it dropped.

        Examples: microturn reps --video-file squats.y4m --json
                  microturn reps --camera vivid --duration 30 --record look.y4m
        """)

    @Option(help: "A YUV4MPEG2 (.y4m) video file.")
    var videoFile: String?

    @Option(help: "A V4L2 camera: a device path (best /dev/v4l/by-id/...) or its driver or card name (`microturn camera list`). Default: the board profile's board.camera.")
    var camera: String?

    @OptionGroup var source: SettingsSource

    @Option(help: "With --camera: stop after this many frames.")
    var frames: Int?

    @Option(help: "With --camera: stop after this many seconds.")
    var duration: Double?

    @Option(help: "With --camera: also record the frames counted to this .y4m file (grey), to look at or count again with --video-file.")
    var record: String?

    @Flag(help: "One JSON object per line (events, then the total).")
    var json = false

    func validate() throws {
        if videoFile != nil && camera != nil { throw ValidationError("give one of --video-file and --camera") }
        if videoFile != nil && (frames != nil || duration != nil || record != nil) {
            throw ValidationError("--frames, --duration and --record are for --camera")
        }
        try FlagChecks.integer(frames, "--frames", 1...Int(Int32.max))
        try FlagChecks.seconds(duration, "--duration")
    }

    func run() throws {
        if videoFile == nil {
            return try withExitCodes {
                let name = try camera ?? source.load().board.camera
                guard !name.isEmpty else {
                    throw UsageError(message: "no video: give --video-file or --camera, or set board.camera in the board profile")
                }
                try runCamera(name)
            }
        }
        try withExitCodes {
            let reader = try Y4MReader(path: videoFile!)
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

    /// Live: frames as they come (the camera reopened with backoff if it vanishes), until
    /// --frames, --duration or Ctrl-C.
    private func runCamera(_ name: String) throws {
        installStopSignals()
        let live = try CameraRepetitions(name: name, record: record)
        let say = { (line: String) in FileHandle.standardError.write(Data("microturn: \(line)\n".utf8)) }
        say("camera \(live.description)")
        let start = Date()
        while !stopRequested.load(ordering: .relaxed) && !(frames.map { live.frames >= $0 } ?? false)
                && !(duration.map { Date().timeIntervalSince(start) >= $0 } ?? false) {
            if let problem = live.advance(to: 0) { say("\(problem)") }
            for e in live.tally.takeEvents() { Self.print(e, json: json) }
            usleep(20_000)
        }
        live.stop()
        for e in live.tally.takeEvents() { Self.print(e, json: json) }
        let count = live.frames, seconds = Date().timeIntervalSince(start)
        let fps = Double(count) / max(1e-9, seconds)
        if json {
            Swift.print("{\"total\":\(live.tally.total),\"frames\":\(count),\"fps\":\(String(format: "%.1f", fps)),\"dropped\":\(live.droppedFrames),\"reopened\":\(live.reopenings)}")
        } else {
            Swift.print("total: \(live.tally.total) repetitions in \(count) frames (\(String(format: "%.1f", fps)) fps, \(live.droppedFrames) dropped, reopened \(live.reopenings) times)")
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
