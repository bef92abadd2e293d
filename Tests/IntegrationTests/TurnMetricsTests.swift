import MicroturnAudio
import MicroturnCore
@testable import MicroturnSimulation
import Testing
import TestSupport

/// What `bench turns` counts as the device taking the turn in a pause inside the user's: any
/// sound (the strict count), and Full-Duplex-Bench v1's take-over (1 s of sound, or a reply of
/// more than 3 words).
@Suite(.ownThreads) struct TurnMetricsTests {
    static let rate = 16_000

    /// A turn from 0.5 to 4 s with a pause from 1.5 to 2.8 s; the device sounds over `sound`.
    static func measure(sound: ClosedRange<Double>, events: [Event] = [], wordStarts: ((String) -> [Double])? = nil) -> TurnMetrics {
        var output = [Float](repeating: 0, count: 6 * rate)
        for i in Int(sound.lowerBound * Double(rate))..<Int(sound.upperBound * Double(rate)) { output[i] = 0.1 }
        let turn = DialogLabels.Utterance(start: 0.5, end: 4, kind: "turn", text: "I was thinking that maybe, we could go out.",
                                          voice: "en-us", rateWpm: 175, pauseStart: 1.5, pauseEnd: 2.8, firstPart: "I was thinking that maybe,")
        let labels = DialogLabels(sampleRate: rate, duration: 6, echoPath: "0:-99:0:-99", noiseDb: nil, utterances: [turn])
        return TurnMetrics.measure(output: output, labels: labels, events: events, wordStarts: wordStarts)
    }

    @Test func aShortSoundInAPauseIsATakeOverOnlyByTheStrictCount() {
        let m = Self.measure(sound: 1.6...1.9)
        #expect(m.pausedTurns == 1 && m.pauseTakeovers == 1 && m.pauseTakeoversFDB == 0)
    }

    @Test func aSecondOfSoundOrAReplyOfMoreThanThreeWordsIsOneByBoth() {
        let long = Self.measure(sound: 1.6...2.7)
        #expect(long.pauseTakeovers == 1 && long.pauseTakeoversFDB == 1)
        let wordy = Self.measure(sound: 1.6...1.9, events: [Event(time: 1.6, kind: .replyStart, text: "Okay, I hear you. Go on.")])
        #expect(wordy.pauseTakeovers == 1 && wordy.pauseTakeoversFDB == 1)
        let quiet = Self.measure(sound: 4.2...4.6)
        #expect(quiet.pauseTakeovers == 0 && quiet.pauseTakeoversFDB == 0)
        // By kind of pause (the labels say none here): counted apart, and added up over dialogs.
        #expect(long.pausesByKind == ["pause": .init(turns: 1, takeovers: 1)])
        var both = long
        both.add(quiet)
        #expect(both.pausesByKind == ["pause": .init(turns: 2, takeovers: 1)])
    }

    @Test func withTheVoicesWordTimesOnlyTheWordsHeardCount() throws {
        let line = "I see that makes sense to me."
        let voice = try SpeechSynthesizer(voice: .init(name: "en-us", rateWpm: 175, pitch: 50))
        let starts = TurnMetrics.wordStarts(voice)(line)
        let length = Double(try voice.synthesize(line).count) / Double(Self.rate)
        #expect(starts.count == 7 && starts.first == 0 && zip(starts, starts.dropFirst()).allSatisfy { $0 <= $1 } && starts.last! < length)
        // Cut before the fourth word begins: three words heard, not a take-over; cut in the fifth
        // (sooner than 1 s): one.
        let reply = [Event(time: 1.6, kind: .replyStart, text: line)]
        try #require(starts[3] > starts[2] + 0.02 && starts[4] + 0.02 < 1)
        let three = Self.measure(sound: 1.6...(1.6 + starts[3] - 0.01), events: reply, wordStarts: TurnMetrics.wordStarts(voice))
        #expect(three.pauseTakeovers == 1 && three.pauseTakeoversFDB == 0)
        let five = Self.measure(sound: 1.6...(1.6 + starts[4] + 0.02), events: reply, wordStarts: TurnMetrics.wordStarts(voice))
        #expect(five.pauseTakeovers == 1 && five.pauseTakeoversFDB == 1)
    }

    /// A reply sounds 1.0-1.5 s and again from 2.0 s (to 2.6 s: the device stops for an interruption
    /// at 1.95 s, in the pause between its sentences); where `stop` is given, the reply ended at 1.5 s.
    static func interrupt(stop: Double?) -> TurnMetrics {
        var output = [Float](repeating: 0, count: 4 * rate)
        for range in [1.0..<1.5, 2.0..<2.6] {
            for i in Int(range.lowerBound * Double(rate))..<Int(range.upperBound * Double(rate)) { output[i] = 0.1 }
        }
        let said = DialogLabels.Utterance(start: 1.95, end: 3, kind: "interruption", text: "Hold on one second.", voice: "en-us", rateWpm: 175)
        let labels = DialogLabels(sampleRate: rate, duration: 4, echoPath: "0:-99:0:-99", noiseDb: nil, utterances: [said])
        var events = [Event(time: 1.0, kind: .playbackStart)]
        if let stop { events.append(Event(time: stop, kind: .playbackStop, detail: "done")) }
        return TurnMetrics.measure(output: output, labels: labels, events: events)
    }

    @Test func anInterruptionInAPauseBetweenTheDevicesSentencesIsOverIt() {
        // 450 ms of quiet before it: only the playback events say the device was still speaking.
        let inPause = Self.interrupt(stop: nil)
        #expect(inPause.interruptions == 1 && inPause.overlappingInterruptions == 1)
        #expect(inPause.stopLatencies.count == 1 && abs(inPause.stopLatencies[0] - 0.65) < 0.01)
        let afterReply = Self.interrupt(stop: 1.5)
        #expect(afterReply.interruptions == 1 && afterReply.overlappingInterruptions == 0 && afterReply.stopLatencies.isEmpty)
    }
}
