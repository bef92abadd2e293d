import Foundation
import MicroturnCore
import MicroturnInteraction
import Testing
import TestSupport

/// The silence policy on labelled feature sequences (no audio): each case says which frames are
/// speech and whether the device is talking, and when the policy must decide what.
@Suite(.ownThreads) struct TurnPolicyTests {
    /// Feeds `speech` (true = speech frame) with the VAD's onset of 2 frames; returns decisions by frame.
    static func run(_ speech: [Bool], deviceSpeaking: (Int) -> Bool = { _ in false },
                    endSilenceMs: Int = 160, bargeInMs: Int = 60,
                    waits: TurnTakingPolicy.Waits? = nil, logitAtStop: (Int) -> Double? = { _ in nil },
                    completeCommand: (Int) -> Bool = { _ in false }, segmentSilenceMs: Int? = nil,
                    stopAfterMs: Int = 0, wordsStopAfterMs: Int? = nil, resumeWithinMs: Int = 0,
                    overlapWords: (Int) -> BackchannelWords.Verdict? = { _ in nil },
                    faint: (Int) -> Bool = { _ in false }) -> [(Int, TurnDecision)] {
        let policy = TurnTakingPolicy(waits: waits ?? .init(endSilenceMs: endSilenceMs), bargeInMs: bargeInMs,
                                      commandSilenceMs: 100, stopAfterMs: stopAfterMs, wordsStopAfterMs: wordsStopAfterMs,
                                      resumeWithinMs: resumeWithinMs)
        policy.segmentSilenceMs = segmentSilenceMs
        var logit: Double?
        var out: [(Int, TurnDecision)] = []
        var run = 0, inSpeech = false, silent = 0
        for (i, s) in speech.enumerated() {
            var started: Int?
            if s { run += 1; silent = 0 } else { run = 0; silent += 1 }
            if s && run == 2 && !inSpeech { inSpeech = true; started = i - 1 }
            if !s && silent > 5 { inSpeech = false }
            // The model's say is read where speech stops, and holds until speech resumes.
            if s { logit = nil } else if i > 0 && speech[i - 1] { logit = logitAtStop(i) }
            let f = FrameObservation(index: i, frameIsSpeech: s, inSpeech: inSpeech, utteranceStartFrame: started,
                                     deviceSpeaking: deviceSpeaking(i), levelDb: s ? -25 : -70,
                                     completeCommand: !s && completeCommand(i), turnEndLogit: logit,
                                     overlapWords: overlapWords(i), frameMayBeSpeech: s || faint(i))
            if let d = policy.onFrame(f) { out.append((i, d)) }
        }
        return out
    }

    static func frames(_ pattern: [(Bool, Int)]) -> [Bool] { pattern.flatMap { Array(repeating: $0.0, count: $0.1) } }

    @Test func turnEndsAfterTheSilenceThresholdOnTheFrameItIsReached() {
        let d = Self.run(Self.frames([(false, 5), (true, 40), (false, 30)]))
        #expect(d.count == 1)
        // Speech frames 5...44; 160 ms = 8 silent frames: frames 45...52, decided on frame 52.
        #expect(d.first?.0 == 52)
        #expect(d.first?.1 == .turnEnd(speechEnd: 45 * 320, speechStart: 5 * 320))
    }

    @Test func pausesShorterThanTheThresholdDoNotEndTheTurn() {
        let d = Self.run(Self.frames([(true, 20), (false, 6), (true, 20), (false, 20)]))
        #expect(d.map(\.0) == [53])
    }

    /// Frames that may be the user's, too faint over the device's echo to be sure, duck it on the
    /// first of them; 300 ms (15 frames) after the last, with no barge-in, it is back at full level.
    @Test func faintSpeechOverTheDeviceDucksAtOnceAndComesToNothing() {
        let d = Self.run(Self.frames([(false, 60)]), deviceSpeaking: { _ in true }, faint: { (10...12).contains($0) })
        #expect(d.map(\.0) == [10, 27] && d.map(\.1) == [.duckForFaintSpeech, .restoreLevel])
        // While the device is silent there is nothing to duck.
        #expect(Self.run(Self.frames([(false, 60)]), faint: { (10...12).contains($0) }).isEmpty)
    }

    /// Faint speech that grows into a barge-in (3 frames of speech, 60 ms): the barge-in keeps the
    /// duck the faint frames began, and the level is not restored under the user.
    @Test func faintSpeechThatBecomesABargeInKeepsTheDuck() {
        let d = Self.run(Self.frames([(false, 13), (true, 20), (false, 40)]), deviceSpeaking: { _ in true },
                         faint: { (10...12).contains($0) })
        #expect(d.prefix(2).map(\.0) == [10, 15])
        #expect(d.prefix(2).map(\.1) == [.duckForFaintSpeech, .bargeIn(speechStart: 13 * 320)])
        #expect(!d.contains { $0.1 == .restoreLevel })
    }

    @Test func aBlipIsNotATurn() {
        // Speech frames 3...5, too few for a turn: once its silence is long enough to end one
        // (8 frames, decided on frame 13), the session is told to forget it.
        let d = Self.run(Self.frames([(false, 3), (true, 3), (false, 30)]))
        #expect(d.map(\.0) == [13] && d.map(\.1) == [.notATurn])
    }

    @Test func longerThresholdWaitsLonger() {
        let d = Self.run(Self.frames([(true, 30), (false, 40)]), endSilenceMs: 500)
        #expect(d.first?.0 == 30 + 25 - 1)
    }

    // The turn-end model's say sets the wait: 160 ms when it is sure, up to 1.6 s when it expects
    // more, one logit per 500 ms of silence; a threshold of 0.5 is a log-odds of 0.
    static let waits = TurnTakingPolicy.Waits(endSilenceMs: 160, maxSilenceMs: 1600, threshold: 0.5, msPerLogit: 500)

    @Test func aSureEndIsTakenAfterTheShortestWait() {
        let d = Self.run(Self.frames([(true, 40), (false, 100)]), waits: Self.waits, logitAtStop: { _ in 3 })
        #expect(d.map(\.0) == [40 + 8 - 1])
    }

    @Test func anOpenEndWaitsOutAPauseAndTheTurnEndsAfterTheRest() {
        // "We need to buy coffee and, ..." (log-odds -2: wait 160 + 2 x 500 = 1160 ms), a 1 s pause,
        // then the rest of the sentence, falling to an end the model is sure of.
        let speech = Self.frames([(true, 40), (false, 50), (true, 40), (false, 100)])
        let d = Self.run(speech, waits: Self.waits, logitAtStop: { $0 == 40 ? -2 : 3 })
        #expect(d.map(\.0) == [130 + 8 - 1])
        // The same pause with the silence timer alone is taken as the end of the turn.
        #expect(Self.run(speech).map(\.0) == [47, 137])
    }

    @Test func theWaitGrowsWithDoubtAndIsBounded() {
        #expect(Self.waits.silenceMs(logit: nil) == 160)
        #expect(Self.waits.silenceMs(logit: 0.5) == 160)
        #expect(Self.waits.silenceMs(logit: -1) == 660)
        #expect(Self.waits.silenceMs(logit: -9) == 1600)
        var strict = Self.waits
        strict.threshold = 0.9  // log-odds 2.2: even a fairly sure end waits
        #expect(strict.silenceMs(logit: 0) > 1200)
    }

    @Test func aCompleteCommandEndsSoonerWhateverTheProsody() {
        let d = Self.run(Self.frames([(true, 25), (false, 100)]), waits: Self.waits, logitAtStop: { _ in -3 },
                         completeCommand: { _ in true })
        #expect(d.map(\.0) == [25 + 5 - 1])
    }

    @Test func whileTranslatingAPauseEndsASegmentWhateverTheModelExpects() {
        // The model expects more (a wait of 1.6 s); live translation sends the segment after 400 ms.
        let speech = Self.frames([(true, 40), (false, 30), (true, 40), (false, 100)])
        let d = Self.run(speech, waits: Self.waits, logitAtStop: { _ in -9 }, segmentSilenceMs: 400)
        #expect(d.map(\.0) == [40 + 20 - 1, 110 + 20 - 1])
        #expect(Self.run(speech, waits: Self.waits, logitAtStop: { _ in -9 }).map(\.0) == [110 + 80 - 1])
    }

    @Test func aShortSoundThatCutTheDeviceIsDealtWithAfterTheShortestWait() {
        // "yeah" over the device (frames 20-34): whatever the model thinks of so short a thing,
        // the device goes on (or obeys a command) 160 ms after it, not after a long doubt.
        let d = Self.run(Self.frames([(false, 20), (true, 15), (false, 100)]), deviceSpeaking: { $0 < 24 },
                         waits: Self.waits, logitAtStop: { _ in -5 })
        #expect(d.map(\.0) == [22, 35 + 8 - 1])
    }

    @Test func aBlipThatCutTheDeviceStillEndsATurn() {
        // 80 ms of sound over the device: enough to barge in, too little for a turn of its own;
        // the device is told it is over so it can go on.
        let d = Self.run(Self.frames([(false, 20), (true, 4), (false, 30)]), deviceSpeaking: { $0 < 23 })
        #expect(d.map(\.0) == [22, 24 + 8 - 1])
        #expect(d.last?.1 == .turnEnd(speechEnd: 24 * 320, speechStart: 20 * 320))
    }

    @Test func speechOverTheDeviceBargesInAfterItsMinimumLength() {
        // The device talks from frame 0 to 60; the user starts at frame 20.
        let d = Self.run(Self.frames([(false, 20), (true, 30), (false, 20)]), deviceSpeaking: { $0 < 60 })
        #expect(d.first?.0 == 22, "three speech frames (60 ms) after onset")
        #expect(d.first?.1 == .bargeIn(speechStart: 20 * 320))
        #expect(d.count == 2, "one barge-in, then the user's turn")
        // The stop came under the device's voice: it must last 400 ms, not 160, to count.
        #expect(d.last?.0 == 50 + 20 - 1)
    }

    @Test func aBargeInOfOneFrameDucksBeforeTheDetectorConfirmsAnUtterance() {
        // The duck must be heard soon after the user begins: with 20 ms it comes on the user's
        // first speech frame over the device, not a frame later where the detector's onset of
        // 2 frames confirms an utterance.
        let d = Self.run(Self.frames([(false, 20), (true, 30), (false, 30)]), deviceSpeaking: { _ in true }, bargeInMs: 20)
        #expect(d.first?.0 == 20)
        #expect(d.first?.1 == .bargeIn(speechStart: 20 * 320))
    }

    @Test func theDeviceDucksThenYieldsToSpeechThatGoesOn() {
        // The device talks throughout; the user talks over it for 600 ms from frame 20.
        let long = Self.run(Self.frames([(false, 20), (true, 30), (false, 30)]), deviceSpeaking: { _ in true }, stopAfterMs: 400)
        #expect(long.map(\.0) == [22, 39, 69], "duck at 60 ms, yield at 400 ms of speech, then the turn")
        #expect(long[1].1 == .yieldFloor)
        // A 300 ms backchannel: ducked, never told to stop, and its end is a turn end (to go on).
        let short = Self.run(Self.frames([(false, 20), (true, 15), (false, 30)]), deviceSpeaking: { _ in true }, stopAfterMs: 400)
        #expect(short.map(\.0) == [22, 35 + 20 - 1])
        #expect(short.last?.1 == .turnEnd(speechEnd: 35 * 320, speechStart: 20 * 320))
    }

    @Test func theUsersWordsOverTheDeviceDecideWhetherItStopsOrGoesOn() {
        // The user talks over the device for 500 ms from frame 20; their first word ends at frame 28.
        let speech = Self.frames([(false, 20), (true, 25), (false, 30)])
        func run(_ words: BackchannelWords.Verdict, laterFrom: Int = .max, later: BackchannelWords.Verdict = .unknown) -> [(Int, TurnDecision)] {
            Self.run(speech, deviceSpeaking: { _ in true }, stopAfterMs: 400) { i in i >= laterFrom ? later : i >= 28 ? words : .unknown }
        }
        // No words yet: it stops after 400 ms of speech (words_stop_after_ms), or goes on where that is longer.
        let unknown = run(.unknown)
        #expect(unknown.map(\.0) == [22, 39, 64] && unknown[1].1 == .yieldFloor)
        let patient = Self.run(speech, deviceSpeaking: { _ in true }, stopAfterMs: 400, wordsStopAfterMs: 600) { _ in .unknown }
        #expect(patient.map(\.0) == [22, 64])
        // With no words at all (nil), or words that are neither, only stop_after_ms counts.
        for words in [nil, BackchannelWords.Verdict.other] {
            let timed = Self.run(speech, deviceSpeaking: { _ in true }, stopAfterMs: 400, wordsStopAfterMs: 600) { $0 >= 28 ? words : .unknown }
            #expect(timed.map(\.0) == [22, 39, 64], "\(String(describing: words))")
        }
        // "Wait": the device stops at the word.
        let wait = run(.interruption)
        #expect(wait.map(\.0) == [22, 28, 64] && wait[1].1 == .yieldFloor)
        // "Yeah": the 400 ms run from the word; the speech ends before, so the device goes on.
        #expect(run(.backchannel(words: 1)).map(\.0) == [22, 64])
        // "Yeah, but ...": the next word is not a backchannel, and the device stops there.
        let yeahBut = run(.backchannel(words: 1), laterFrom: 35, later: .interruption)
        #expect(yeahBut.map(\.0) == [22, 35, 64] && yeahBut[1].1 == .yieldFloor)
        // Speech that goes on 400 ms past the latest backchannel word stops the device; each new
        // one ("yeah, okay, sure") gives it another 400 ms.
        let long = Self.frames([(false, 20), (true, 60), (false, 30)])
        let once = Self.run(long, deviceSpeaking: { _ in true }, stopAfterMs: 400) { $0 >= 28 ? .backchannel(words: 1) : .unknown }
        #expect(once.map(\.0).prefix(2) == [22, 47] && once[1].1 == .yieldFloor)
        let chain = Self.run(long, deviceSpeaking: { _ in true }, stopAfterMs: 400) { i in
            i >= 28 ? .backchannel(words: 1 + (i - 28) / 15) : .unknown
        }
        #expect(chain.map(\.0) == [22, 79 + 20], "words at frames 28, 43, 58 and 73: never 400 ms past the latest")
    }

    @Test func theUserGoingOnAfterAPauseTheDeviceTookForAnEndStopsItAtTheirFirstWord() {
        // A turn (frames 5-29) ends at frame 37; the device answers from frame 40 and the user goes
        // on at frame 50, 400 ms after their speech stopped; their first word ("should") ends at 58.
        let speech = Self.frames([(false, 5), (true, 25), (false, 20), (true, 30), (false, 30)])
        func run(_ words: BackchannelWords.Verdict, resumeWithinMs: Int) -> [(Int, TurnDecision)] {
            Self.run(speech, deviceSpeaking: { $0 >= 40 }, stopAfterMs: 400, resumeWithinMs: resumeWithinMs) { $0 >= 58 ? words : .unknown }
        }
        let resumed = run(.other, resumeWithinMs: 1500)
        #expect(resumed.map(\.0).prefix(3) == [37, 52, 58] && resumed[2].1 == .yieldToContinuation)
        // "Wait" that soon is still an interruption.
        let wait = run(.interruption, resumeWithinMs: 1500)
        #expect(wait.map(\.0).prefix(3) == [37, 52, 58] && wait[2].1 == .yieldFloor)
        // Later than resume_within_ms after the turn, or with the rule off, such words leave it to
        // stop_after_ms (a recognizer's mishearing of "yeah" must not stop the device).
        for window in [0, 300] {
            let timed = run(.other, resumeWithinMs: window)
            #expect(timed.map(\.0).prefix(3) == [37, 52, 69] && timed[2].1 == .yieldFloor, "\(window)")
        }
        // An acknowledgement early in the answer still lets the device go on.
        let yeah = Self.run(Self.frames([(false, 5), (true, 25), (false, 20), (true, 15), (false, 40)]), deviceSpeaking: { $0 >= 40 },
                            stopAfterMs: 400, resumeWithinMs: 1500) { $0 >= 58 ? .backchannel(words: 1) : .unknown }
        #expect(!yeah.contains { $0.1 == .yieldFloor })
        // Nor is speech soon after a backchannel over the device (its turn cut the device) the
        // user going on: "yeah" (frames 50-64, its turn over at frame 84), more words from frame 90.
        let twice = Self.run(Self.frames([(false, 5), (true, 25), (false, 20), (true, 15), (false, 25), (true, 30), (false, 30)]),
                             deviceSpeaking: { $0 >= 40 }, stopAfterMs: 400, resumeWithinMs: 1500) { i in
            i >= 98 ? .other : i >= 58 && i < 90 ? .backchannel(words: 1) : .unknown
        }
        #expect(twice.first { $0.1 == .yieldFloor }?.0 == 90 + 20 - 1, "\(twice)")
    }

    @Test func backchannelWordsAreToldFromInterruptions() {
        let backchannels = [("yeah", 1), ("Okay.", 1), ("mm-hmm", 2), ("Uh huh, right.", 3), ("yeah yeah", 2), ("i see", 2),
                            ("uh", 1), ("i", 1), ("all right", 2), ("got it", 2)]
        for (words, count) in backchannels {
            #expect(BackchannelWords.verdict(words) == .backchannel(words: count), "\(words)")
        }
        for words in ["wait", "Hold on one second.", "no", "stop", "yeah but", "what", "okay, how long", "Sorry, one more thing"] {
            #expect(BackchannelWords.verdict(words) == .interruption, "\(words)")
        }
        // Words that are neither (or a recognizer's mishearing) leave it to time.
        for words in ["i want", "okay so what about", "like that", "my bike has a flat"] {
            #expect(BackchannelWords.verdict(words) == .other, "\(words)")
        }
        #expect(BackchannelWords.verdict("") == .unknown && BackchannelWords.verdict(" , ") == .unknown)
    }

    @Test func aTurnAfterABargeInIsAnsweredOnceTheDeviceIsQuiet() {
        let d = Self.run(Self.frames([(false, 20), (true, 30), (false, 20)]), deviceSpeaking: { $0 < 23 })
        #expect(d.map(\.0) == [22, 57])
        #expect(d.last?.1 == .turnEnd(speechEnd: 50 * 320, speechStart: 20 * 320))
    }

    @Test func shortSoundsOverTheDeviceNeitherBargeInNorMakeATurn() {
        let d = Self.run(Self.frames([(false, 20), (true, 2), (false, 40)]), deviceSpeaking: { $0 < 30 })
        // Forgotten where the detector's utterance ends (frame 27), under the device.
        #expect(d.map(\.0) == [27] && d.map(\.1) == [.notATurn])
    }

    @Test func bargeInCanBeTurnedOff() {
        let policy = TurnTakingPolicy(endSilenceMs: 160, bargeInMs: 60, bargeInEnabled: false)
        for i in 0..<10 {
            let f = FrameObservation(index: i, frameIsSpeech: true, inSpeech: i >= 1, utteranceStartFrame: i == 1 ? 0 : nil,
                                     deviceSpeaking: true, levelDb: -20)
            #expect(policy.onFrame(f) == nil)
        }
    }

    @Test(arguments: [(40, 2), (200, 10), (400, 20)])
    func schedulerTicksOncePerMicroTurn(ms: Int, frames: Int) {
        let s = MicroTurnScheduler(microTurnMs: ms, policy: TurnTakingPolicy(endSilenceMs: 160, bargeInMs: 60))
        #expect(s.framesPerMicroTurn == frames)
        for i in 0..<100 {
            _ = s.onFrame(FrameObservation(index: i, frameIsSpeech: false, inSpeech: false, utteranceStartFrame: nil,
                                           deviceSpeaking: false, levelDb: -80))
        }
        #expect(s.microTurns == 100 / frames)
    }

    @Test func schedulerPassesUrgentDecisionsOnTheFrame() {
        let s = MicroTurnScheduler(microTurnMs: 400, policy: TurnTakingPolicy(endSilenceMs: 160, bargeInMs: 60))
        var decidedAt: Int?
        for (i, speech) in Self.frames([(true, 13), (false, 30)]).enumerated() {
            let f = FrameObservation(index: i, frameIsSpeech: speech, inSpeech: speech && i >= 1,
                                     utteranceStartFrame: i == 1 ? 0 : nil, deviceSpeaking: false, levelDb: -30)
            if !s.onFrame(f).isEmpty && decidedAt == nil { decidedAt = i }
        }
        #expect(decidedAt == 20, "decided 160 ms after speech, not at the 400 ms micro-turn boundary")
    }

    /// Micro-turns of 200 ms (10 frames): a count queued at frame 3 starts at the end of frame 9,
    /// the boundary, and not before; a barge-in in the same micro-turn is decided on its own frame.
    @Test func aCountWaitsForTheNextBoundaryAndABargeInDoesNot() {
        let s = MicroTurnScheduler(microTurnMs: 200, policy: TurnTakingPolicy(endSilenceMs: 160, bargeInMs: 60))
        let n = ProcessingFormat.frameSamples
        var started: [Int] = []
        for i in 0..<20 {
            if i == 3 { s.queue.add(Utterance(text: "5.", kind: .count, condition: .userDone, deadline: 10 * n)) }
            let f = FrameObservation(index: i, frameIsSpeech: false, inSpeech: false, utteranceStartFrame: nil,
                                     deviceSpeaking: false, levelDb: -60)
            for d in s.onFrame(f) { if case .start = d { started.append(i) } }
        }
        #expect(started == [9], "the count starts at the first boundary after it was queued")

        // The device is replying; the user's speech from frame 12 on barges in after 60 ms (3 frames).
        let b = MicroTurnScheduler(microTurnMs: 200, policy: TurnTakingPolicy(endSilenceMs: 160, bargeInMs: 60))
        var bargedIn: Int?
        for i in 0..<20 {
            let speech = i >= 12
            let f = FrameObservation(index: i, frameIsSpeech: speech, inSpeech: i >= 13, utteranceStartFrame: i == 13 ? 12 : nil,
                                     deviceSpeaking: true, levelDb: speech ? -20 : -60)
            for d in b.onFrame(f) { if case .bargeIn = d { bargedIn = bargedIn ?? i } }
        }
        #expect(bargedIn == 14, "decided on its third speech frame, not at the boundary of frame 19")
    }

    /// At a boundary, a count waits for the user's turn to be over and the device to be quiet, or
    /// goes unsaid once its deadline passes, with the reason; a murmur needs only a pause.
    @Test func theQueueStartsWhatItsConditionAllowsAndDropsWhatIsLate() {
        let q = UtteranceQueue()
        q.add(Utterance(text: "3.", kind: .count, condition: .userDone, deadline: 100))
        q.add(Utterance(text: "Mm-hm.", kind: .murmur, condition: .userSilent, deadline: 100))
        // In a pause of the user's turn: the murmur may start, the count may not.
        #expect(q.boundary(at: 50, userSpeaking: false, userTurnOpen: true, deviceIdle: true)
            == [.start(Utterance(text: "Mm-hm.", kind: .murmur, condition: .userSilent, deadline: 100))])
        #expect(q.boundary(at: 100, userSpeaking: true, userTurnOpen: true, deviceIdle: true)
            == [.drop(Utterance(text: "3.", kind: .count, condition: .userDone, deadline: 100), reason: "the user is speaking")])
        q.add(Utterance(text: "4.", kind: .count, condition: .userDone, deadline: 200))
        let replaced = q.add(Utterance(text: "5.", kind: .count, condition: .userDone, deadline: 200))
        #expect(replaced?.text == "4.", "a later count replaces one still waiting")
        #expect(q.boundary(at: 200, userSpeaking: false, userTurnOpen: false, deviceIdle: false)
            == [.drop(Utterance(text: "5.", kind: .count, condition: .userDone, deadline: 200), reason: "the device is speaking")])
        #expect(q.isEmpty)
    }

    @Test func aTranslationUnderTheUserStartsWhileTheySpeak() {
        let q = UtteranceQueue()
        let under = Utterance(text: "Hola.", kind: .translation, condition: .any, deadline: .max)
        q.add(Utterance(text: "Adiós.", kind: .translation, condition: .userSilent, deadline: .max))
        q.add(under)
        // Both translations wait their turn (none replaces the other); only the one said under
        // the user may start while they speak.
        #expect(q.boundary(at: 0, userSpeaking: true, userTurnOpen: true, deviceIdle: true) == [.start(under)])
        #expect(q.boundary(at: 1, userSpeaking: true, userTurnOpen: true, deviceIdle: true).isEmpty)
        #expect(!q.isEmpty)
    }

    @Test func skillsAnswerCommands() {
        let c = ReplyComposer()
        func reply(_ command: String?, interrupted: Bool = false, seconds: Double = 0.4,
                   context: ReplyComposer.Context = .init(), words: BackchannelWords.Verdict = .unknown) -> ReplyComposer.Reply {
            c.reply(to: .init(index: 0, durationSeconds: seconds, interrupted: interrupted, command: command, words: words), context: context)
        }
        #expect(reply("stop") == .init(text: nil, action: .halt))
        #expect(reply("pause").action == .pause)
        #expect(reply("resume").text == "There is nothing to resume.")
        #expect(reply("resume", context: .init(hasPausedSpeech: true)).action == .resume)
        #expect(reply("repeat that", context: .init(lastReply: "Hello there.")).text == "Hello there.")
        #expect(reply("louder").action == .changeVolume(db: ReplyComposer.volumeStepDb))
        #expect(reply("quieter").action == .changeVolume(db: -ReplyComposer.volumeStepDb))
        let noon = Calendar.current.date(from: DateComponents(year: 2026, month: 1, day: 1, hour: 15, minute: 5))!
        #expect(reply("what time is it", context: .init(now: noon)).text == "It is 3 oh 5 p m.")
        #expect(reply("how many reps").text == "No reps counted yet.")
        #expect(reply("how many reps", context: .init(repetitions: 12)).text == "12 reps so far.")
        #expect(reply("never mind").action == .dropRequests && reply("forget it").action == .dropRequests)
        #expect(reply("translate to spanish") == .init(text: "Translating to Spanish. Say stop translating to end.", action: .translate(code: "es")))
        #expect(reply("translate to german").action == .translate(code: "de"))
        #expect(reply("stop translating") == .init(text: "Translation off.", action: .stopTranslating))
        // Every command of the default grammar has a skill: none falls through to the server.
        for phrase in MicroturnConfig().commands.phrases {
            #expect(reply(phrase).action != .delegate, "\(phrase)")
        }
        #expect(reply(nil, interrupted: true, seconds: 0.4, context: .init(hasCutSpeech: true)).action == .continueSpeaking)
        #expect(reply(nil, interrupted: true, seconds: 1.2, context: .init(hasCutSpeech: true)).action == .delegate)
        // Where the words are known they decide, not the length: a slow "uh huh" goes on, a quick "no" does not.
        #expect(reply(nil, interrupted: true, seconds: 0.8, context: .init(hasCutSpeech: true), words: .backchannel(words: 2)).action == .continueSpeaking)
        #expect(reply(nil, interrupted: true, seconds: 0.3, context: .init(hasCutSpeech: true), words: .interruption).action == .delegate)
        // The command grammar's match on what the words show was "yeah" is not taken.
        #expect(reply("repeat that", interrupted: true, context: .init(hasCutSpeech: true), words: .backchannel(words: 1)).action == .continueSpeaking)
        #expect(reply("stop", interrupted: true, context: .init(hasCutSpeech: true), words: .interruption).action == .halt)
    }

    @Test func repliesComeFromTheComposer() {
        let c = ReplyComposer()
        let a = c.reply(to: .init(index: 0, durationSeconds: 2, interrupted: false))
        let b = c.reply(to: .init(index: 1, durationSeconds: 2, interrupted: false))
        #expect(a.text != b.text && a.action == .delegate)
        #expect(c.reply(to: .init(index: 0, durationSeconds: 1, interrupted: true)).text?.contains("go ahead") == true)
    }
}
