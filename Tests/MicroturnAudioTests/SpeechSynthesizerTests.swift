import MicroturnAudio
import Testing
import TestSupport

@Suite(.ownThreads) struct SpeechSynthesizerTests {
    @Test func streamsSpeechInChunks() throws {
        let synth = try SpeechSynthesizer(voice: .init(name: "en-us", rateWpm: 175))
        var chunks = 0
        var total = 0
        let n = try synth.speak("Okay, I hear you. Go on.") { chunk in
            chunks += 1
            total += chunk.count
            return true
        }
        #expect(n == total)
        #expect(chunks > 10, "espeak-ng hands speech over as it makes it")
        #expect((0.8...3.0).contains(Double(total) / 16_000), "a short sentence lasts about a second or two")
    }

    @Test func stopsWhenTheConsumerSaysSo() throws {
        let synth = try SpeechSynthesizer(voice: .init())
        var chunks = 0
        let n = try synth.speak("This sentence is long enough to be cut off well before it ends.") { _ in
            chunks += 1
            return chunks < 3
        }
        #expect(chunks == 3)
        #expect(n < 16_000)
    }

    @Test func unknownVoiceIsAClearError() throws {
        let synth = try SpeechSynthesizer(voice: .init(name: "xx-nonexistent"))
        #expect(throws: AudioError.self) { try synth.synthesize("hello") }
        // A name espeak-ng's by-language lookup would match to a bare variant (which crashed it).
        #expect(throws: AudioError.self) { try synth.inVoice("alloy").synthesize("hello") }
        // (In-process output varies a little with what the process said before: a wide bound.)
        let spanish = try synth.inVoice("es").synthesize("Hola, buenos días. ¿Cómo está usted?")
        #expect(Double(spanish.count) / 16_000 > 1, "a language's voice still speaks after: \(spanish.count) samples")
    }

    @Test func freshSpeechIsTheSameWhateverWasSaidBefore() throws {
        let fresh = FreshSpeech(voice: .init(name: "en-us", rateWpm: 160))
        let first = try fresh.synthesize("never mind")
        // The library in this process says other things (and is cut off), then the same again.
        let synth = try SpeechSynthesizer(voice: .init(name: "en-us", rateWpm: 160))
        _ = try synth.synthesize("My sister is coming to visit on Saturday, and we will go to the museum.")
        _ = try synth.speak("This sentence is long enough to be cut off well before it ends.") { _ in false }
        #expect(try fresh.synthesize("never mind") == first)
        #expect((0.6...1.6).contains(Double(first.count) / 16_000), "\(first.count) samples")
        // "-" first is text, not an option; an unknown voice is a clear error.
        #expect(try fresh.synthesize("-5 degrees").count > 8_000)
        #expect(throws: AudioError.self) { try FreshSpeech(voice: .init(name: "xx-nonexistent")).synthesize("hello") }
    }
}
