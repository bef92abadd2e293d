import Foundation
import Synchronization
import MicroturnAudio
import MicroturnCore
@testable import MicroturnInteraction
import Testing
import TestSupport

/// The words heard over the device are the words of that speech, never the last turn's: speech over
/// the device is asked about from its first frames (a duck for faint speech comes before its
/// barge-in), before its audio has begun for the recognizer. The real PocketSphinx, on espeak-ng.
@Suite(.ownThreads) struct LiveWordsTests {
    static func ask(_ words: LiveWords, upTo t: Int, speaking: Bool = true, since: Int? = nil) -> String {
        let given = DispatchSemaphore(value: 0)
        let heard = Mutex<String>("")
        words.words(upTo: t, speaking: speaking, since: since) { w in
            heard.withLock { $0 = w }
            given.signal()
        }
        given.wait()
        return heard.withLock { $0 }
    }

    @Test func speechOverTheDeviceIsNotHeardAsTheLastTurn() throws {
        let words = try LiveWords()
        let turn = try FreshSpeech().synthesize("My phone is broken and the screen cracked.")
        words.hear(turn, begins: true, endingAt: turn.count)
        // The turn's words are there for its own stops...
        #expect(!Self.ask(words, upTo: turn.count, speaking: false).isEmpty, "the recognizer heard the turn")
        // ...but not for speech over the device two seconds later, whose audio has not come yet.
        let later = turn.count + ProcessingFormat.samples(seconds: 2)
        #expect(Self.ask(words, upTo: later, since: later) == "")
        // Once that speech's audio begins (from 200 ms before its onset), its words are the ones heard.
        let okay = try FreshSpeech().synthesize("okay")
        words.hear(okay, begins: true, endingAt: later + okay.count - ProcessingFormat.samples(seconds: 0.2))
        let over = Self.ask(words, upTo: later + okay.count, since: later)
        #expect(!over.isEmpty && !over.contains("phone"), "heard '\(over)'")
    }
}
