import Foundation
import MicroturnAudio
import MicroturnCore
@testable import MicroturnInteraction
import Testing
import TestSupport

/// Speech is made on a thread of its own: while espeak-ng is held up, `say` still returns and the
/// processing loop goes on; what is made afterwards reaches the playback ring.
@Suite(.ownThreads) struct SpeechOutTests {
    /// Lets one thread hold another up, without a clock.
    final class Gate: Sendable {
        let entered = DispatchSemaphore(value: 0)
        let open = DispatchSemaphore(value: 0)
    }

    /// Hands the speech out to the calling thread; the semaphore orders its use there and here.
    struct Handed: @unchecked Sendable { let out: SpeechOut }

    @Test func sayReturnsWhileSynthesisIsHeldUp() throws {
        let request = AlsaPCM.Request(rate: 16_000, channels: 1, formats: [.s16], periodMs: 10, bufferPeriods: 3)
        let audio = DuplexAudio(setup: .init(
            capture: .init(name: "unused_capture", request: request), playback: .init(name: "unused_playback", request: request),
            pacing: .realTime))  // live pacing: `say` does not wait for the whole utterance
        let synthesizer = try SpeechSynthesizer(voice: .init())
        let out = SpeechOut(audio: audio, synthesizer: synthesizer)

        // Another utterance holds espeak-ng (it is one engine) until the gate opens.
        let gate = Gate()
        let blocker = Thread {
            _ = try? synthesizer.speak("Hold on.") { _ in
                gate.entered.signal()
                gate.open.wait()
                return false
            }
        }
        blocker.start()
        gate.entered.wait()

        // `say` returns with nothing made yet: the processing loop is not held up with it.
        let returned = DispatchSemaphore(value: 0)
        let handed = Handed(out: out)
        let caller = Thread {
            try? handed.out.say("This sentence waits for the engine.")
            returned.signal()
        }
        caller.start()
        let free = returned.wait(timeout: .now() + 30) == .success
        #expect(free, "say() waited for the synthesis")
        #expect(audio.speech.count == 0 && out.hasMore, "nothing made yet, more to come")

        // Once the engine is free, the speech is made and pumped into the playback ring.
        gate.open.signal()
        var pumped = 0
        for _ in 0..<30_000 where pumped <= 8000 {  // a state, not a clock: 30 s only if it never comes
            try out.pump()
            pumped = audio.speech.count
            usleep(1000)
        }
        #expect(pumped > 8000, "about a second of speech reached the ring (\(pumped) samples)")
    }
}

/// What the device reports of an answer the user talked over: the whole words within the share of
/// its speech that was played.
@Suite(.ownThreads) struct HeardAnswerTests {
    @Test func onlyWholeWordsWithinThePlayedShareAreReported() {
        let text = "The museum opens at nine and closes at six."
        #expect(BackgroundRequests.prefix(of: text, fraction: 1) == text)
        #expect(BackgroundRequests.prefix(of: text, fraction: 0.5) == "The museum opens at")
        #expect(BackgroundRequests.prefix(of: text, fraction: 0.05) == "")
        #expect(BackgroundRequests.prefix(of: text, fraction: -1) == "" && BackgroundRequests.prefix(of: text, fraction: 7) == text)
    }
}
