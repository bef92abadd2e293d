import CPocketSphinx
import Foundation
import MicroturnAudio
import MicroturnCore
import Testing
import TestSupport

/// The real PocketSphinx with Debian's en-us model, on commands and other sentences spoken by espeak-ng.
@Suite(.ownThreads) struct CommandRecognizerTests {
    /// The device's default grammar.
    static let commands = MicroturnConfig().commands.phrases
    static let outOfGrammar = ["Can you tell me what the weather will be like tomorrow?", "My sister is coming to visit.",
                               "Stop the music and play something else.", "How long does it take to boil an egg?",
                               "Turn on the lights in the kitchen.", "What is a good name for a cat?",
                               "I need some help with my homework.", "Please repeat the last song.", "Never mind the weather, how is the traffic?",
                               "I will never forget it.", "Can you translate this letter for me?", "I stopped translating books last year."]

    static func recognize(_ r: CommandRecognizer, _ audio: [Float]) -> CommandRecognizer.Result {
        r.begin()
        var i = 0
        while i < audio.count {
            r.feed(Array(audio[i..<min(audio.count, i + 320)]))
            i += 320
        }
        return r.finish()
    }

    @Test func recognizesCommandsAndRejectsOtherSpeech() throws {
        let r = try CommandRecognizer(phrases: Self.commands)
        var correct = 0, total = 0, falseAccepts = 0, oogTotal = 0
        for voice in ["en-us", "en-us+f3", "en-gb"] {
            for wpm in [150, 190] {
                let synth = FreshSpeech(voice: .init(name: voice, rateWpm: wpm))
                for c in Self.commands {
                    let audio = [Float](repeating: 0, count: 3200) + (try synth.synthesize(c)) + [Float](repeating: 0, count: 3200)
                    let res = Self.recognize(r, audio)
                    total += 1
                    if res.phrase == c { correct += 1 }
                    print("CMD \(voice) \(wpm) '\(c)' -> \(res.heard) \(String(format: "%.2f", res.confidence)) \(res.accepted)")
                }
                for s in Self.outOfGrammar {
                    let audio = [Float](repeating: 0, count: 3200) + (try synth.synthesize(s)) + [Float](repeating: 0, count: 3200)
                    let res = Self.recognize(r, audio)
                    oogTotal += 1
                    if res.accepted { falseAccepts += 1 }
                    print("OOG \(voice) \(wpm) '\(s)' -> \(res.heard) \(String(format: "%.2f", res.confidence)) \(res.accepted)")
                }
            }
        }
        print("commands: \(correct)/\(total) correct, out-of-grammar false accepts \(falseAccepts)/\(oogTotal)")
        // A regression guard on a small set, rendered the same every run (FreshSpeech): 79 of 90
        // commands, 1 of 72 other sentences accepted; `bench turns` measures on a larger one.
        #expect(Double(correct) / Double(total) >= 0.85)
        #expect(Double(falseAccepts) / Double(oogTotal) <= 0.1)
    }

    /// Making a decoder leaves the process's log stream as it is: with `-logfn` each one closed the
    /// stream and opened another, which other threads' decoders were writing to or closing too.
    @Test func makingADecoderLeavesTheLogStreamAlone() throws {
        _ = try CommandRecognizer(phrases: ["stop"])
        let before = err_get_logfp()
        _ = try CommandRecognizer(phrases: ["stop", "help"])
        #expect(before == nil, "PocketSphinx's logging is off")
        #expect(err_get_logfp() == before)
    }

    @Test func wordsOutsideTheDictionaryAreAClearError() {
        #expect(throws: AudioError.self) { _ = try CommandRecognizer(phrases: ["frobnicate the zorblax"]) }
    }
}
