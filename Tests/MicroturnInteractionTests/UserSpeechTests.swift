import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import Testing
import TestSupport

/// Which frames are the user speaking in a turn of theirs (`Heard.spoke`): what cancels an
/// acknowledgement still to be said, and ends the silence the turn-end model weighs. Real frames
/// through the energy detector (a frame over -40 dBFS is speech; two in a row start an utterance).
@Suite(.ownThreads) struct UserSpeechTests {
    static let silence = [Float](repeating: 0, count: ProcessingFormat.frameSamples)
    static let tone = (0..<ProcessingFormat.frameSamples).map { Float(0.3 * sin(2 * Double.pi * 440 * Double($0) / 16_000)) }

    /// Feeds the frames (true: the tone) and returns, per frame, what the detector and the user's
    /// speech made of it.
    static func hear(_ frames: [Bool]) throws -> [(vad: VoiceActivityDetector.Result, heard: UserSpeech.Heard)] {
        var config = MicroturnConfig()
        config.commands.enabled = false
        let speech = try UserSpeech(config: config)
        let vad = VoiceActivityDetector(method: .energy)
        return frames.enumerated().map { i, loud in
            let frame = loud ? tone : silence
            let v = vad.process(frame)
            return (v, speech.hear(v, cleaned: frame, frame: i))
        }
    }

    @Test func aLoneFrameOutsideAnUtteranceIsNotTheUserSpeaking() throws {
        // A click at frame 5, then an utterance from frame 20 with a pause inside it.
        var frames = [Bool](repeating: false, count: 40)
        frames[5] = true
        for i in 20..<26 { frames[i] = true }
        for i in 28..<31 { frames[i] = true }
        let heard = try Self.hear(frames)
        #expect(heard[5].vad.frameIsSpeech && !heard[5].vad.inSpeech, "the click is a speech frame, outside an utterance")
        #expect(!heard[5].heard.spoke, "and not the user speaking")
        #expect(heard[21].vad.startedAtFrame == 20 && heard[21].heard.spoke, "the utterance's onset is")
        #expect(heard[20].heard.spoke == false, "(the frame before the onset is not known as speech yet)")
        let spoke = heard.indices.filter { heard[$0].heard.spoke }
        #expect(spoke == Array(21..<26) + Array(28..<31), "every speech frame of the utterance from its onset, none else: \(spoke)")
        #expect(heard[26].heard.stop != nil && heard[31].heard.stop != nil, "its stops are recorded")
    }
}
