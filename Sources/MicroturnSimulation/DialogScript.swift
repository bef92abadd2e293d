import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction

/// A labelled dialog: what the user says and when, as the microphone hears it (16 kHz mono),
/// with the room the device sits in. Made with espeak-ng; used by the demo, the benchmark and tests.
public struct DialogLabels: Codable, Sendable, Equatable {
    public struct Utterance: Codable, Sendable, Equatable {
        /// Annotated speech start and end, seconds (first and last sample above -50 dBFS).
        public var start: Double
        public var end: Double
        /// `turn`: a user turn the device should answer; `interruption`: speech over the device's reply;
        /// `command`: a local command (the text is the command); `backchannel`: a short
        /// acknowledgement over the device's reply, which should not stop it.
        public var kind: String
        public var text: String
        public var voice: String
        public var rateWpm: Int
        /// A pause inside the turn (after a comma, a filler or an unfinished phrase), seconds:
        /// the device must not take the turn there.
        public var pauseStart: Double?
        public var pauseEnd: Double?
        /// The words before that pause (what a recognizer has heard in it).
        public var firstPart: String?
        /// What kind of place the pause is in (`DialogMaterial.PausedTurn.kind`).
        public var pauseKind: String?
        /// espeak-ng's pitch (0-99), when the material varies it.
        public var pitch: Int?
        /// Where each of the text's words ends, seconds (its last sample above -50 dBFS before the
        /// next word espeak-ng marks begins): when a perfect streaming recognizer could give it.
        /// Nil in labels made before word timings, or where espeak-ng marked no word.
        public var wordEnds: [Double]?
    }

    public var sampleRate: Int
    public var duration: Double
    /// The room's echo path, `DELAY_MS:GAIN_DB:REVERB_MS:NOISE_DB` (see `EchoPath.Spec`).
    public var echoPath: String
    /// Background noise added to the user's side, dBFS (nil: none).
    public var noiseDb: Double?
    public var utterances: [Utterance]
}

extension DialogLabels {
    /// The user's words as a perfect streaming recognizer would give them, each as it ends (in
    /// labels without word timings: the words before a pause, then all of them at the end): the
    /// local model judged apart from the recognizer.
    public func scriptedWords() -> [LiveWords.Scripted] {
        utterances.map { u in
            var words: [(end: Int, text: String)] = []
            let split = u.text.split(separator: " ")
            if let ends = u.wordEnds, ends.count == split.count {
                for (k, end) in ends.enumerated() {
                    words.append((ProcessingFormat.samples(seconds: end), split[...k].joined(separator: " ")))
                }
                return LiveWords.Scripted(start: ProcessingFormat.samples(seconds: u.start), words: words)
            }
            if let p = u.pauseStart, let first = u.firstPart { words.append((ProcessingFormat.samples(seconds: p), first)) }
            words.append((ProcessingFormat.samples(seconds: u.end), u.text))
            return LiveWords.Scripted(start: ProcessingFormat.samples(seconds: u.start), words: words)
        }
    }
}

public enum DialogScript {
    static let backchannels = ["yeah", "okay", "right", "uh huh", "sure"]
    static let interruptions = ["Wait one more thing.", "Hold on one second.", "No wait a second."]
    /// Commands that get a spoken answer when the device is quiet (stop, pause and resume act on
    /// the device's own speech and are tested where it talks).
    static let spokenCommands = ["repeat that", "louder", "quieter", "what time is it", "how many reps", "help"]

    /// Builds dialog number `seed`: `turns` user turns 3-4 s apart, every `interruptEvery`-th one
    /// followed by an interruption while the device answers, with or without background noise.
    public static func make(seed: UInt64, turns: Int = 5, interruptEvery: Int = 3, commandEvery: Int = 0,
                            backchannelEvery: Int = 0, pauseEvery: Int = 0, noise: Bool? = nil,
                            material: DialogMaterial = .classic) throws(AudioError) -> (audio: [Float], labels: DialogLabels) {
        var rng = SplitMix64(seed: seed &* 7919 &+ 17)
        func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
        func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * Double(rng.next() % 10_000) / 10_000 }
        let rate = ProcessingFormat.sampleRate
        var audio = [Float](repeating: 0, count: rate)
        var utterances: [DialogLabels.Utterance] = []

        // The classic material draws no pitch, so its seeds make the dialogs they always made.
        func pickVoice() -> (name: String, wpm: Int, pitch: Int) {
            let name = pick(material.voices), wpm = pick(material.rates)
            let pitch = material.isClassic ? 50 : material.pitches.lowerBound + Int(rng.next() % UInt64(material.pitches.count))
            return (name, wpm, pitch)
        }
        func place(_ text: String, kind: String, at time: Double, voice chosen: (name: String, wpm: Int, pitch: Int)? = nil) throws(AudioError) -> Double {
            let voice = chosen ?? pickVoice()
            let synth = try SpeechSynthesizer(voice: .init(name: voice.name, rateWpm: voice.wpm, pitch: voice.pitch))
            let said = try synth.synthesizeWords(text)
            let kept = spoken(said.samples)
            var speech = Array(said.samples[kept])
            let rms = (speech.reduce(0) { $0 + Double($1 * $1) } / Double(max(1, speech.count))).squareRoot()
            let gain = Float(pow(10, uniform(material.levels.lowerBound, material.levels.upperBound) / 20) / max(rms, 1e-6))
            for i in speech.indices { speech[i] *= gain }
            let start = Int(time * Double(rate))
            if audio.count < start + speech.count { audio += [Float](repeating: 0, count: start + speech.count - audio.count) }
            for i in speech.indices { audio[start + i] += speech[i] }
            let end = Double(start + speech.count) / Double(rate)
            let ends = wordEnds(said.samples, marks: said.marks, spoken: kept, text: text)
            utterances.append(.init(start: time, end: end, kind: kind, text: text, voice: voice.name, rateWpm: voice.wpm,
                                    pauseStart: nil, pauseEnd: nil, pitch: material.isClassic ? nil : voice.pitch,
                                    wordEnds: ends.map { $0.map { Double(start - kept.lowerBound + $0) / Double(rate) } }))
            return end
        }

        var t = 1.0
        for k in 0..<turns {
            if commandEvery > 0 && k % commandEvery == commandEvery - 1 {
                t = try place(pick(spokenCommands), kind: "command", at: t) + uniform(3, 4)
                continue
            }
            let end: Double
            if pauseEvery > 0 && k % pauseEvery == pauseEvery - 1 {
                // One turn in two parts, the same voice, with a pause of 0.4-1.5 s between them.
                let paused = pick(material.pausedTurns)
                let voice = pickVoice()
                let firstEnd = try place(paused.first, kind: "turn", at: t, voice: voice)
                let resume = firstEnd + uniform(0.4, 1.5)
                end = try place(paused.second, kind: "turn", at: resume, voice: voice)
                let tail = utterances.removeLast()
                utterances[utterances.count - 1].text += " " + tail.text
                utterances[utterances.count - 1].end = tail.end
                utterances[utterances.count - 1].wordEnds = utterances[utterances.count - 1].wordEnds.flatMap { first in tail.wordEnds.map { first + $0 } }
                utterances[utterances.count - 1].pauseStart = firstEnd
                utterances[utterances.count - 1].pauseEnd = resume
                utterances[utterances.count - 1].firstPart = paused.first
                utterances[utterances.count - 1].pauseKind = paused.kind
            } else if material.isClassic {
                end = try place(k % 2 == 0 ? pick(material.statements) : pick(material.risingQuestions), kind: "turn", at: t)
            } else {
                let pools = [material.statements, material.risingQuestions, material.fallingQuestions, material.shortTurns]
                end = try place(pick(pick(pools)), kind: "turn", at: t)
            }
            if interruptEvery > 0 && k % interruptEvery == interruptEvery - 1 {
                // The reply starts about 0.2 s after the turn and lasts about two seconds: talk over
                // it somewhere in its first part (in a word or in a pause between words).
                let e2 = try place(pick(interruptions), kind: "interruption", at: end + uniform(0.5, 1.6))
                t = e2 + uniform(3, 4)
            } else if backchannelEvery > 0 && k % backchannelEvery == backchannelEvery - 2 {
                // A short acknowledgement while the device answers: it should go on.
                let e2 = try place(pick(backchannels), kind: "backchannel", at: end + uniform(0.6, 1.2))
                t = e2 + uniform(3.5, 4.5)
            } else {
                t = end + uniform(3, 4)
            }
        }
        let total = Int(t * Double(rate))
        if audio.count < total { audio += [Float](repeating: 0, count: total - audio.count) }
        let noisy = noise ?? (seed % 2 == 1)
        let noiseDb = noisy ? uniform(-60, -50) : nil
        if let noiseDb {
            let amplitude = Float(pow(10, noiseDb / 20) * 3.0.squareRoot())
            for i in audio.indices { audio[i] += (Float(rng.next() % 2_000_001) / 1_000_000 - 1) * amplitude }
        }
        let echo = String(format: "%.0f:%.0f:%.0f:-75", uniform(20, 60), uniform(-14, -6), uniform(100, 200))
        let labels = DialogLabels(sampleRate: rate, duration: Double(audio.count) / Double(rate), echoPath: echo,
                                  noiseDb: noiseDb, utterances: utterances)
        return (audio, labels)
    }

    /// Writes `NAME.wav` and `NAME.json` into `directory`.
    public static func write(_ dialog: (audio: [Float], labels: DialogLabels), name: String, directory: String) throws(AudioError) {
        try WavFile(sampleRate: dialog.labels.sampleRate, channels: 1, samples: dialog.audio)
            .write(path: "\(directory)/\(name).wav")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = "\(directory)/\(name).json"
        do { try encoder.encode(dialog.labels).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .fileIO(path: path, reason: "cannot write labels (\(error.localizedDescription))")
        }
    }

    public static func readLabels(path: String) throws(AudioError) -> DialogLabels {
        do { return try JSONDecoder().decode(DialogLabels.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw .fileIO(path: path, reason: "not a dialog label file (\(error.localizedDescription)); make dialogs with tools/make-dialogs.sh")
        }
    }

    static let speechFloor: Float = 0.003  // -50 dBFS

    /// The speech without espeak-ng's leading and trailing silence.
    static func spoken(_ x: [Float]) -> Range<Int> {
        guard let first = x.firstIndex(where: { abs($0) > speechFloor }),
              let last = x.lastIndex(where: { abs($0) > speechFloor }) else { return x.indices }
        return first..<(last + 1)
    }

    /// Where each space-separated word of `text` begins, in characters (as espeak-ng's word marks
    /// count them).
    static func wordOffsets(_ text: String) -> [Int] {
        var offsets: [Int] = [], at = 0
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !word.isEmpty { offsets.append(at) }
            at += word.count + 1
        }
        return offsets
    }

    /// Where each of `text`'s words (split at spaces) ends in `x`, samples: its last sample above
    /// the floor before the next word espeak-ng marks begins (a word it did not mark ends where the
    /// one after it begins), the speech's end for the last. Nil when espeak-ng marked no word.
    static func wordEnds(_ x: [Float], marks: [SpeechSynthesizer.WordMark], spoken: Range<Int>, text: String) -> [Int]? {
        guard !marks.isEmpty else { return nil }
        return wordOffsets(text).map { o in
            guard let next = marks.first(where: { $0.character > o }) else { return spoken.upperBound }
            let b = min(spoken.upperBound, max(spoken.lowerBound, next.sample))
            return ((spoken.lowerBound..<b).last { abs(x[$0]) > speechFloor } ?? spoken.lowerBound) + 1
        }
    }
}
