import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction

/// A long session on the virtual clock: one dialog played over and over as the microphone (hours
/// of audio, streamed from disk, never held in memory), the loudspeaker to /dev/null, and the
/// session keeping only its latest events as a live one does. It measures what months of running
/// would show first: memory that grows, and events that go missing (every event is handed on, and
/// every loop of the dialog is heard and answered).
public enum Soak {
    public struct Sample: Sendable {
        /// Seconds of audio processed.
        public var audioSeconds: Double
        public var rssMB: Double
        public var events: Int
    }

    public struct Result: Sendable {
        public var loops: Int
        public var loopSeconds: Double
        /// RSS through the run, one sample per `sampleEvery` seconds of audio.
        public var samples: [Sample]
        /// Events per kind, over the whole run.
        public var eventsByKind: [String: Int]
        /// Turn ends in each whole loop of the dialog.
        public var turnsPerLoop: [Int]
        public var framesProcessed: Int
    }

    public static func run(capture: String, seconds: Double, config: MicroturnConfig, echoPath: EchoPath.Spec?,
                           sampleEvery: Double = 60, progress: @escaping (Sample) -> Void = { _ in },
                           onEvent: @escaping (Event) -> Void = { _ in }) throws(AudioError) -> Result {
        let input = try WavFile.read(path: capture)
        guard input.frameCount > 0 else { throw .badWav(path: capture, reason: "it holds no samples") }
        let loops = max(1, Int((seconds / input.duration).rounded(.up)))
        let (frames, overflow) = input.frameCount.multipliedReportingOverflow(by: loops)
        guard !overflow else { throw .badWav(path: capture, reason: "\(loops) loops of it are too long") }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-soak-\(getpid())-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) } catch {
            throw .fileIO(path: work.path, reason: "cannot create a working folder (\(error.localizedDescription))")
        }
        defer { try? FileManager.default.removeItem(at: work) }
        let rawIn = work.appendingPathComponent("capture.raw").path
        let pcm = input.samples.map(SampleConversion.int16)
        let bytes = pcm.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: rawIn, contents: nil), let file = FileHandle(forWritingAtPath: rawIn) else {
            throw .fileIO(path: rawIn, reason: "cannot create")
        }
        do {
            for _ in 0..<loops { try file.write(contentsOf: bytes) }
            try file.close()
        } catch {
            throw .fileIO(path: rawIn, reason: "cannot write \(loops) loops (\(error.localizedDescription)); is the disk full?")
        }

        var byKind: [String: Int] = [:]
        var turns = [Int](repeating: 0, count: loops)
        var count = 0
        let (session, _) = try Simulation.makeSession(
            rawCapture: rawIn, rate: input.sampleRate, channels: input.channels, frames: frames, rawPlayback: "/dev/null",
            config: config, fast: true, echoPath: echoPath, repetitions: nil, recordLimit: 1000) { event in
                count += 1
                byKind[event.kind.rawValue, default: 0] += 1
                if event.kind == .turnEnd { turns[min(loops - 1, Int(event.time / input.duration))] += 1 }
                onEvent(event)
            }
        var samples: [Sample] = []
        var calls = 0
        let framesPerSample = max(1, Int(sampleEvery * Double(ProcessingFormat.sampleRate)) / ProcessingFormat.frameSamples)
        // Called once per 20 ms frame: the place to look at memory as the audio goes by.
        let report = try session.run { _ in
            if calls % framesPerSample == 0 {
                let s = Sample(audioSeconds: Double(calls) * 0.02, rssMB: residentMB(), events: count)
                samples.append(s)
                progress(s)
            }
            calls += 1
            return false
        }
        samples.append(Sample(audioSeconds: Double(report.frames) * 0.02, rssMB: residentMB(), events: count))
        return Result(loops: loops, loopSeconds: input.duration, samples: samples, eventsByKind: byKind, turnsPerLoop: turns,
                      framesProcessed: report.frames)
    }

    /// This process's resident memory now, MB (/proc/self/statm: pages).
    static func residentMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}
