import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnVision

/// A session on virtual PCMs: a WAV file is the microphone and another WAV file records the
/// loudspeaker, through the same ALSA capture/playback code as hardware. The output is aligned
/// with the input sample for sample: out[i] is what the device played while in[i] was captured.
public enum Simulation {
    public struct Files: Sendable {
        public var capture: String
        public var playback: String
        public init(capture: String, playback: String) {
            self.capture = capture
            self.playback = playback
        }
    }

    public struct Result: Sendable {
        public var report: Session.Report
        /// What the device played, 16 kHz mono, at least as long as the input.
        public var output: [Float]
        public var inputSeconds: Double
    }

    public static func run(files: Files, config: MicroturnConfig, fast: Bool, echoPath: EchoPath.Spec? = nil,
                           repetitions: (any RepetitionSource)? = nil, localModel: LocalModel? = nil, words: LiveWords? = nil,
                           scheduledTurns: [ScheduledTurnPolicy.Mark]? = nil, startOfCapture: Date? = nil,
                           shouldStop: @escaping (_ framesProcessed: Int) -> Bool = { _ in false },
                           onEvent: @escaping (Event) -> Void = { _ in }) throws(AudioError) -> Result {
        let input = try WavFile.read(path: files.capture)
        guard input.frameCount > 0 else { throw .badWav(path: files.capture, reason: "it holds no samples") }
        if let w = input.warning { onEvent(Event(time: 0, kind: .warning, text: "\(files.capture): \(w)")) }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-\(getpid())-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) } catch {
            throw .fileIO(path: work.path, reason: "cannot create a working folder (\(error.localizedDescription))")
        }
        defer { try? FileManager.default.removeItem(at: work) }
        let rawIn = work.appendingPathComponent("capture.raw").path
        let rawOut = work.appendingPathComponent("playback.raw").path

        // The microphone file keeps its own rate and channels: capture converts them like any device.
        var pcm = [Int16](repeating: 0, count: input.samples.count)
        for i in pcm.indices { pcm[i] = SampleConversion.int16(input.samples[i]) }
        do { try pcm.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: rawIn)) } } catch {
            throw .fileIO(path: rawIn, reason: "cannot write (\(error.localizedDescription))")
        }

        let (session, inputSamples) = try makeSession(
            rawCapture: rawIn, rate: input.sampleRate, channels: input.channels, frames: input.frameCount, rawPlayback: rawOut,
            config: config, fast: fast, echoPath: echoPath, repetitions: repetitions, localModel: localModel, words: words, scheduledTurns: scheduledTurns,
            startOfCapture: startOfCapture, onEvent: onEvent)
        let report = try session.run(shouldStop: shouldStop)

        var output: [Float] = []
        if let data = FileManager.default.contents(atPath: rawOut) {
            output = data.withUnsafeBytes { raw in
                raw.bindMemory(to: Int16.self).map { Float($0) / 32768 }
            }
        }
        // Exactly as long as the session ran (playback may have run a little further before it was
        // stopped), and never shorter than the input.
        let length = max(inputSamples, report.frames * ProcessingFormat.frameSamples)
        if output.count > length { output.removeLast(output.count - length) }
        if output.count < length { output += [Float](repeating: 0, count: length - output.count) }
        try WavFile(sampleRate: ProcessingFormat.sampleRate, channels: 1, samples: output).write(path: files.playback)
        return Result(report: report, output: output, inputSeconds: input.duration)
    }

    /// A session on virtual PCMs: `rawCapture` (S16 samples at `rate`, `channels`, `frames` of them)
    /// is the microphone, `rawPlayback` records the loudspeaker (16 kHz mono S16). Returns the
    /// session and the input's length in 16 kHz samples.
    static func makeSession(rawCapture: String, rate: Int, channels: Int, frames: Int, rawPlayback: String,
                            config: MicroturnConfig, fast: Bool, echoPath: EchoPath.Spec?, repetitions: (any RepetitionSource)?,
                            localModel: LocalModel? = nil, words: LiveWords? = nil, scheduledTurns: [ScheduledTurnPolicy.Mark]? = nil,
                            recordLimit: Int? = nil, startOfCapture: Date? = nil,
                            onEvent: @escaping (Event) -> Void) throws(AudioError) -> (Session, Int) {
        let a = config.audio
        let capture = DuplexAudio.Endpoint(
            name: "microturn_capture",
            request: .init(rate: rate, channels: channels, formats: [.s16], periodMs: a.periodMs, bufferPeriods: a.bufferPeriods),
            definition: VirtualPCM.captureDefinition(name: "microturn_capture", rawInput: rawCapture))
        let playback = DuplexAudio.Endpoint(
            name: "microturn_playback",
            request: .init(rate: ProcessingFormat.sampleRate, channels: 1, formats: [.s16], periodMs: a.periodMs,
                           bufferPeriods: a.bufferPeriods),
            definition: VirtualPCM.playbackDefinition(name: "microturn_playback", rawOutput: rawPlayback))
        // Both virtual devices must open: on a file there is nothing to wait for.
        _ = try AlsaPCM(name: capture.name, direction: .capture, request: capture.request, definition: capture.definition)
        let audio = DuplexAudio(setup: .init(capture: capture, playback: playback, pacing: fast ? .virtualClock : .realTime,
                                             inputFrames: frames, reopenMaxSeconds: a.reopenMaxSeconds))
        let inputSamples = Int((Double(frames) * Double(ProcessingFormat.sampleRate) / Double(rate)).rounded(.up))
        let synthesizer = try SpeechSynthesizer(voice: .init(name: config.speech.voice, rateWpm: config.speech.rateWpm,
                                                             pitch: config.speech.pitch, gainDb: config.speech.gainDb))
        let session = try Session(options: .init(config: config, echoPath: echoPath, inputSamples: inputSamples, recordLimit: recordLimit,
                                                 localModel: localModel, words: words, scheduledTurns: scheduledTurns,
                                                 startOfCapture: startOfCapture),
                                  audio: audio, synthesizer: synthesizer, repetitions: repetitions, onEvent: onEvent)
        return (session, inputSamples)
    }
}
