import Foundation
import MicroturnAudio
import MicroturnCore
import Synchronization

/// Speech on its way to the loudspeaker. Synthesis runs on a thread of its own (a long sentence on
/// a slow board must not stall voice detection or barge-in) and streams its chunks into a job;
/// every frame the processing loop moves what has been made into the playback ring. It keeps the
/// whole utterance, so a cut can say what was left unsaid (for "resume").
///
/// On the virtual clock (`Pacing.virtualClock`) `say` waits for the whole utterance, so that a run
/// on files gives the same output on any machine; no capture time passes meanwhile there.
final class SpeechOut {
    private let audio: DuplexAudio
    private let synthesizer: SpeechSynthesizer
    private let thread = SerialThread(name: "microturn-voice")
    /// The utterance's syntheses not yet taken whole, in order: a continuation (`say(_:continuing:)`)
    /// is made after the part before it, on the same thread.
    private var jobs: [SynthesisJob] = []
    private var utterance: [Float] = []
    private var sent = 0
    /// Capture-clock sample where the current utterance started to be heard.
    var startedAt: Int?
    static let ceiling: Float = 0.99
    /// Live, `say` waits this long for the first chunk, so that a reply's first sound is in the
    /// ring at once (espeak-ng makes it in a few milliseconds) without the loop ever waiting long.
    static let firstChunkWaitMs = 10
    /// Playback gain on top of the voice's own, dB.
    private(set) var gainDb = 0.0
    /// The utterance plays ducked under the user's voice (`duck`); a new one plays at full level.
    private(set) var ducked = false

    init(audio: DuplexAudio, synthesizer: SpeechSynthesizer) {
        self.audio = audio
        self.synthesizer = synthesizer
    }

    /// Samples of the current utterance made so far.
    var made: Int { utterance.count }

    /// More is to come: samples not yet handed to playback, or synthesis still running.
    var hasMore: Bool { utterance.count > sent || !jobs.isEmpty }

    /// Capture sample where what has been made of the utterance will have been heard (nil: not
    /// started, or still being made).
    var heardBy: Int? { jobs.isEmpty ? startedAt.map { $0 + utterance.count } : nil }

    /// Starts saying `text`, in `voice` (an espeak-ng voice) when given, else the device's own;
    /// `continuing`: after what is being said (the rest of a line whose beginning was said while
    /// its end was being written), else instead of it. A synthesis error (an unknown voice) comes
    /// from here on the virtual clock, and from `pump` live.
    func say(_ text: String, voice: String? = nil, gainDb extra: Double = 0, continuing: Bool = false) throws(AudioError) {
        let synthesizer = try synthesizer.inVoice(voice)
        if !continuing { begin() }
        let job = SynthesisJob()
        jobs.append(job)
        // Limit here, so that what playback writes (the echo canceller's reference) is exactly
        // what the loudspeaker plays: clipping later would make the echo nonlinear.
        let gain = Float(pow(10, (gainDb + extra) / 20))
        thread.async {
            do throws(AudioError) {
                try synthesizer.speak(text) { chunk in
                    job.append(chunk.map { max(-Self.ceiling, min(Self.ceiling, $0 * gain)) })
                }
                job.finish(nil)
            } catch {
                job.finish(error)
            }
        }
        if audio.setup.pacing == .virtualClock { job.waitUntilFinished() } else { job.waitForData(ms: Self.firstChunkWaitMs) }
        try pump()
    }

    /// Says speech made elsewhere (the server's, decoded), at the device's volume.
    func say(recorded samples: [Float], gainDb extra: Double = 0) {
        let gain = Float(pow(10, (gainDb + extra) / 20))
        play(samples.map { max(-Self.ceiling, min(Self.ceiling, $0 * gain)) })
    }

    /// Plays samples again (what a cut left unsaid).
    func play(_ samples: [Float]) {
        begin()
        utterance = samples
        try? pump()  // no synthesis job: nothing can fail
    }

    func changeGain(by db: Double) { gainDb = min(12, max(-30, gainDb + db)) }

    /// What is playing drops `db` (0: back to full level) from the next playback period on.
    func duck(db: Double) {
        audio.duck(db: db)
        ducked = db > 0
    }

    /// Takes what synthesis has made and moves what fits into the playback ring. Throws the
    /// synthesis error of the utterance under way (it is then over).
    func pump() throws(AudioError) {
        while let job = jobs.first {
            let (chunks, done, error) = job.take()
            utterance += chunks
            if let error {
                // The utterance is over where its synthesis failed: what follows it is not said.
                for j in jobs { j.cancel() }
                jobs.removeAll()
                throw error
            }
            guard done else { break }
            jobs.removeFirst()
        }
        guard sent < utterance.count else { return }
        sent += utterance.withUnsafeBufferPointer { audio.speech.write(UnsafeBufferPointer(rebasing: $0[sent...])) }
    }

    /// Stops speaking at capture time `time`; returns what was not yet heard (of what was made).
    @discardableResult
    func cancel(at time: Int) -> [Float] {
        for job in jobs { utterance += job.take().chunks }
        let heard = startedAt.map { min(utterance.count, max(0, time - $0)) } ?? 0
        let rest = Array(utterance[heard...])
        begin()
        audio.flushPlayback()
        return rest
    }

    private func begin() {
        if ducked { duck(db: 0) }
        for job in jobs { job.cancel() }
        jobs.removeAll()
        utterance.removeAll(keepingCapacity: true)
        sent = 0
        startedAt = nil
    }
}

/// One utterance being synthesized: the synthesis thread appends, the processing loop takes.
final class SynthesisJob: Sendable {
    private struct State {
        var chunks: [Float] = []
        var done = false
        var cancelled = false
        var error: AudioError?
    }

    private let state = Mutex(State())
    private let signal = DispatchSemaphore(value: 0)

    /// Synthesis side: returns false once the job is cancelled (synthesis then stops).
    func append(_ chunk: [Float]) -> Bool {
        let go = state.withLock { s -> Bool in
            if !s.cancelled { s.chunks += chunk }
            return !s.cancelled
        }
        signal.signal()
        return go
    }

    func finish(_ error: AudioError?) {
        state.withLock {
            $0.done = true
            $0.error = error
        }
        signal.signal()
    }

    func cancel() { state.withLock { $0.cancelled = true } }

    /// What was made since the last take, whether synthesis is over, and its error.
    func take() -> (chunks: [Float], done: Bool, error: AudioError?) {
        state.withLock { s in
            defer { s.chunks.removeAll() }
            return (s.chunks, s.done, s.done ? s.error : nil)
        }
    }

    func waitUntilFinished() {
        while !state.withLock({ $0.done }) { signal.wait() }
    }

    /// Waits until some audio or the end is there, at most `ms` milliseconds.
    func waitForData(ms: Int) {
        let deadline = DispatchTime.now() + .milliseconds(ms)
        while !state.withLock({ $0.done || !$0.chunks.isEmpty }) {
            if signal.wait(timeout: deadline) == .timedOut { return }
        }
    }
}
