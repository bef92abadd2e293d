import CEspeakNG
import Foundation
import MicroturnCore
import Synchronization

/// Text to speech in-process with libespeak-ng, streamed: `speak` hands over 16 kHz chunks of about
/// 20 ms as espeak-ng produces them, so playback can start before the sentence is finished.
/// espeak-ng keeps global state, so every use goes through one lock.
public final class SpeechSynthesizer: Sendable {
    public struct Voice: Sendable, Equatable {
        public var name: String
        public var rateWpm: Int
        public var pitch: Int
        public var gainDb: Double
        public init(name: String = "en-us", rateWpm: Int = 175, pitch: Int = 50, gainDb: Double = 0) {
            self.name = name
            self.rateWpm = rateWpm
            self.pitch = pitch
            self.gainDb = gainDb
        }
    }

    private static let engine = Mutex<Int?>(nil)  // espeak-ng's output rate once initialized

    public let voice: Voice

    public init(voice: Voice) throws(AudioError) {
        self.voice = voice
        let rate = Self.engine.withLock { rate -> Int? in
            if rate == nil {
                let r = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 20, nil, 0)
                if r > 0 {
                    rate = Int(r)
                    espeak_SetSynthCallback(synthCallback)
                }
            }
            return rate
        }
        guard rate != nil else { throw .speech(reason: "espeak-ng failed to initialize") }
    }

    /// This synthesizer, or one like it in another espeak-ng voice (a translation's language).
    public func inVoice(_ name: String?) throws(AudioError) -> SpeechSynthesizer {
        guard let name, name != voice.name else { return self }
        var other = voice
        other.name = name
        return try SpeechSynthesizer(voice: other)
    }

    /// Synthesizes `text`, calling `deliver` with each chunk (16 kHz mono). `deliver` returns false
    /// to stop early (barge-in). Returns the number of samples delivered.
    @discardableResult
    public func speak(_ text: String, deliver: ([Float]) -> Bool) throws(AudioError) -> Int {
        try speakWords(text, deliver: deliver).delivered
    }

    /// Where espeak-ng says a word of the text begins: 16 kHz samples into the speech, and the
    /// word's first character in the text (0-based). It marks the words it stresses: an unstressed
    /// one run into its neighbour ("the" in "in the garden") has no mark of its own.
    public typealias WordMark = (sample: Int, character: Int)

    /// `speak`, also returning espeak-ng's word marks.
    private func speakWords(_ text: String, deliver: ([Float]) -> Bool) throws(AudioError) -> (delivered: Int, marks: [WordMark]) {
        try withoutActuallyEscaping(deliver) { deliver throws(AudioError) -> (delivered: Int, marks: [WordMark]) in
            let gain = Float(pow(10, voice.gainDb / 20))
            return try Self.engine.withLock { rate throws(AudioError) -> (delivered: Int, marks: [WordMark]) in
                guard let rate else { throw .speech(reason: "espeak-ng is not initialized") }
                guard Self.select(voice.name) else {
                    throw .speech(reason: "unknown voice '\(voice.name)' (espeak-ng --voices lists them)")
                }
                espeak_SetParameter(espeakRATE, Int32(voice.rateWpm), 0)
                espeak_SetParameter(espeakPITCH, Int32(voice.pitch), 0)
                let resampler = try Resampler(from: rate, to: ProcessingFormat.sampleRate)
                let sink = ChunkSink(resampler: resampler, gain: gain, deliver: deliver)
                let unmanaged = Unmanaged.passRetained(sink)
                defer { unmanaged.release() }
                let bytes = Array(text.utf8CString)
                let status = espeak_Synth(bytes, bytes.count, 0, POS_CHARACTER, 0,
                                          UInt32(espeakCHARS_UTF8), nil, unmanaged.toOpaque())
                guard status == EE_OK else { throw .speech(reason: "espeak_Synth failed (\(status.rawValue))") }
                return (sink.delivered, sink.words.map { (ProcessingFormat.samples(ms: $0.ms), $0.character) })
            }
        }
    }

    /// Selects a voice by name ("en-us", "en-us+f3"), or else by language with a gender variant:
    /// by-name lookup misses some languages' voices that the espeak-ng command line finds.
    private static func select(_ name: String) -> Bool {
        if espeak_SetVoiceByName(name) == EE_OK { return true }
        let parts = name.split(separator: "+", maxSplits: 1).map(String.init)
        var props = espeak_VOICE()
        if parts.count == 2, let kind = parts[1].first, let n = UInt8(parts[1].dropFirst()) {
            props.gender = kind == "f" ? 2 : 1
            props.variant = n
        }
        // espeak-ng "finds" a voice for any language name ("alloy" loads a bare variant with no
        // phoneme table, which then crashes synthesis): only a language a voice has is asked for.
        guard languages().contains(parts[0]) else { return false }
        return parts[0].withCString { lang in
            props.languages = lang
            return espeak_SetVoiceByProperties(&props) == EE_OK
        }
    }

    /// Every language espeak-ng's voices speak ("en-us", "es", ...).
    private static func languages() -> Set<String> {
        var found = Set<String>()
        guard var voice = espeak_ListVoices(nil) else { return found }
        while let v = voice.pointee {
            // Each language: a priority byte, then its name ending in 0; a 0 priority ends the list.
            if var p = v.pointee.languages {
                while p.pointee != 0 {
                    let name = String(cString: p + 1)
                    found.insert(name)
                    p += 1 + name.utf8.count + 1
                }
            }
            voice += 1
        }
        return found
    }

    /// Whole utterance at once (tests, generators).
    public func synthesize(_ text: String) throws(AudioError) -> [Float] {
        var all: [Float] = []
        try speak(text) { all.append(contentsOf: $0); return true }
        return all
    }

    /// Whole utterance at once, with espeak-ng's word marks: the generators' word timings.
    public func synthesizeWords(_ text: String) throws(AudioError) -> (samples: [Float], marks: [WordMark]) {
        var all: [Float] = []
        let marks = try speakWords(text) { all.append(contentsOf: $0); return true }.marks
        return (all, marks)
    }
}

/// Receives espeak-ng's 22.05 kHz chunks for one utterance.
private final class ChunkSink {
    let resampler: Resampler
    let gain: Float
    let deliver: ([Float]) -> Bool
    var delivered = 0
    var stopped = false
    /// espeak-ng's word events: milliseconds into the utterance where a word starts, and its
    /// first character in the text (0-based).
    var words: [(ms: Int, character: Int)] = []
    var scratch: [Float] = []

    init(resampler: Resampler, gain: Float, deliver: @escaping ([Float]) -> Bool) {
        self.resampler = resampler
        self.gain = gain
        self.deliver = deliver
    }

    func take(_ wav: UnsafePointer<Int16>, _ count: Int) -> Int32 {
        if stopped { return 1 }
        scratch.removeAll(keepingCapacity: true)
        var input = [Float](repeating: 0, count: count)
        for i in 0..<count { input[i] = Float(wav[i]) / 32768 * gain }
        input.withUnsafeBufferPointer { resampler.process($0, appendingTo: &scratch) }
        guard !scratch.isEmpty else { return 0 }
        delivered += scratch.count
        if !deliver(scratch) { stopped = true; return 1 }
        return 0
    }
}

/// espeak-ng's synth callback: a C function pointer, so it captures nothing and finds the
/// utterance's sink through the event's user_data.
private func synthCallback(_ wav: UnsafeMutablePointer<Int16>?, _ count: Int32,
                           _ events: UnsafeMutablePointer<espeak_EVENT>?) -> Int32 {
    guard let events, let data = events.pointee.user_data else { return 0 }
    let sink = Unmanaged<ChunkSink>.fromOpaque(data).takeUnretainedValue()
    var e = events
    while e.pointee.type != espeakEVENT_LIST_TERMINATED {
        // A word event of length 0 marks the end of the text.
        if e.pointee.type == espeakEVENT_WORD && e.pointee.length > 0 {
            sink.words.append((ms: Int(e.pointee.audio_position), character: Int(e.pointee.text_position) - 1))
        }
        e += 1
    }
    guard let wav, count > 0 else { return 0 }
    return sink.take(wav, Int(count))
}
