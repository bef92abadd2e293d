import Foundation
import MicroturnAudio
import MicroturnCore
@testable import MicroturnInteraction
import Testing
import TestSupport

/// A line the local model has not finished by the deadline: its opening is said then, and its
/// rest follows when written, or " that." when the opening has been heard first. The model is held
/// up on its own thread by a gate, so what the tier sees is decided, not raced.
@Suite(.serialized, .ownThreads) struct LocalTierOpeningTests {
    static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let request = "What time does the museum open on Sundays?"

    static func tier() throws -> (LocalTier, LocalModel, end: Int) {
        try #require(FileManager.default.fileExists(atPath: model), "run tools/fetch-model.sh")
        let end = 40_000
        let words = LiveWords(script: [.init(start: 8_000, words: [(end, request)])])
        let local = try LocalModel(path: model, threads: 2)
        return (LocalTier(model: local, words: words, config: MicroturnConfig().model, virtualClock: false), local, end)
    }

    /// Holds the model's thread until the returned semaphore is signalled.
    static func hold(_ local: LocalModel) -> DispatchSemaphore {
        let gate = DispatchSemaphore(value: 0)
        local.afterJobsAsked { gate.wait() }
        return gate
    }

    @Test func theOpeningIsSaidAtTheDeadlineAndTheModelsRestFollows() throws {
        let (tier, local, end) = try Self.tier()
        let gate = Self.hold(local)
        tier.stopped(at: end, after: nil)
        #expect(tier.acknowledge(speechEnd: end, fallback: "Let me see.") == nil, "nothing written yet: it waits")
        let deadline = end + ProcessingFormat.samples(ms: MicroturnConfig().model.replyDeadlineMs) - LocalTier.startMargin
        #expect(tier.poll(now: deadline - 320, openingHeardBy: nil).say == nil, "before the deadline nothing is said")
        let opening = tier.poll(now: deadline, openingHeardBy: nil).say
        #expect(opening == .init(text: "Let me check", speechEnd: end, origin: LocalTier.opening))
        // The opening is being heard until far ahead: the rest may take its time.
        #expect(tier.poll(now: deadline + 320, openingHeardBy: deadline + 16_000).say == nil)
        gate.signal()
        var rest: LocalTier.Said?
        while rest == nil {
            try #require(local.waitForResult(timeoutMs: 60_000), "the model wrote nothing in a minute")
            rest = tier.poll(now: deadline + 640, openingHeardBy: deadline + 16_000).say
        }
        let said = try #require(rest)
        #expect(said.continuing && said.origin == LocalTier.fromModel, "\(said)")
        let line = "Let me check" + said.text
        #expect(line.lowercased().contains("museum") && line.hasSuffix("."), "\(line)")
    }

    @Test func anOpeningHeardBeforeTheRestIsWrittenEndsWithAFixedRest() throws {
        let (tier, local, end) = try Self.tier()
        let gate = Self.hold(local)
        defer { gate.signal() }
        tier.stopped(at: end, after: nil)
        _ = tier.acknowledge(speechEnd: end, fallback: "Let me see.")
        let deadline = end + ProcessingFormat.samples(ms: 400)
        #expect(tier.poll(now: deadline, openingHeardBy: nil).say?.origin == LocalTier.opening)
        let heardBy = deadline + 8_000
        #expect(tier.poll(now: heardBy - LocalTier.startMargin - 320, openingHeardBy: heardBy).say == nil)
        let rest = tier.poll(now: heardBy - LocalTier.startMargin, openingHeardBy: heardBy).say
        #expect(rest == .init(text: " that.", speechEnd: end, origin: LocalTier.late, continuing: true))
        // Nothing more comes of that turn.
        #expect(tier.poll(now: heardBy + 3_200, openingHeardBy: heardBy).say == nil)
    }

    @Test func aContinuationIsMadeAfterWhatIsBeingSaid() throws {
        let request = AlsaPCM.Request(rate: 16_000, channels: 1, formats: [.s16], periodMs: 10, bufferPeriods: 3)
        let audio = DuplexAudio(setup: .init(
            capture: .init(name: "unused_capture", request: request), playback: .init(name: "unused_playback", request: request),
            pacing: .virtualClock))  // `say` waits for the whole utterance
        let synthesizer = try SpeechSynthesizer(voice: .init())
        let out = SpeechOut(audio: audio, synthesizer: synthesizer)
        var alone: [Int] = []
        for text in ["Let me check", " that."] {
            try out.say(text)  // each replaces what was being said
            alone.append(out.made)
        }
        #expect(alone[0] > 8_000 && alone[1] > 3_000, "\(alone)")
        try out.say("Let me check")
        try out.say(" that.", continuing: true)
        // (espeak-ng's length for a text varies by a few samples from one call to the next.)
        #expect(abs(out.made - (alone[0] + alone[1])) < 160, "the rest follows the opening in one utterance: \(out.made) against \(alone)")
    }

    /// Lines SmolLM2-135M wrote as offline answers (bench local-tier): the ones that decline are
    /// not said; answers, good or poor, are.
    @Test func offlineLinesInWhichTheModelDeclinesAreNotAnswers() {
        for refusal in [
            "I'm sorry for any confusion, but as a text-based AI, I don't have the ability to display images or provide visual content.",
            "I'm sorry for any misunderstanding, but as a device-based AI, I don't have the ability to make sounds.",
            "I'm sorry for any confusion, but as a helpful assistant, I can only assist with general tasks.",
            "I cannot browse the internet.",
        ] { #expect(LocalModel.declines(refusal), "\(refusal)") }
        for answer in [
            "A beginner should do 12-15 squats per session.",
            "The gift shop is open from 10 am to 10 pm, but it's currently closed on weekends.",
            "You can connect your headphones to your device using a USB cable.",
            "Aim for a gentle stretch and hold it for thirty seconds.",
        ] { #expect(!LocalModel.declines(answer), "\(answer)") }
    }
}
