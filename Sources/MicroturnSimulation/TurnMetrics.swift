import MicroturnAudio
import MicroturnCore
import MicroturnInteraction

/// Turn-taking measured from outside, as Full-Duplex-Bench does: from the aligned input labels and
/// what the device played (out.wav), plus the events for what only the device knows (its barge-ins).
public struct TurnMetrics: Sendable, Equatable {
    /// Annotated end of a user turn to the first device sample above -40 dBFS.
    public var turnLatencies: [Double] = []
    /// Turns the device did not answer within 2.5 s.
    public var missedTurns = 0
    /// Annotated start of an interruption to the last device sample above -40 dBFS.
    public var stopLatencies: [Double] = []
    /// Interruptions that started while the device was speaking (the others could not be measured).
    public var overlappingInterruptions = 0
    public var interruptions = 0
    /// Interruptions after which the device took the turn: it answered within 2.5 s of their end.
    public var interruptionTakeovers = 0
    /// Barge-ins the device took with no user speech going on: its own echo (or noise) stopped it.
    public var falseBargeIns = 0
    /// Replies started, against user turns plus interruptions (one reply each is right).
    public var replies = 0
    public var userTurns = 0
    /// Spoken commands, how many were recognized as exactly that command, and end of speech to
    /// the first sample of the answer.
    public var commands = 0
    public var commandsRecognized = 0
    public var commandLatencies: [Double] = []
    /// Ordinary speech (turns and interruptions) taken for a command.
    public var commandFalseAccepts = 0
    /// Turns with a pause inside, and how many times the device took the turn in the pause.
    public var pausedTurns = 0
    public var pauseTakeovers = 0
    /// Take-overs as Full-Duplex-Bench v1 counts them: what the device began in the pause lasted
    /// at least 1 s, or more than 3 words of the reply it began there were heard (all of its
    /// words, where `measure` is not told where they begin).
    public var pauseTakeoversFDB = 0
    /// The same by kind of pause (the labels' `pauseKind`: comma, long, filler, clause; "pause"
    /// where a dialog does not say): paused turns, and Full-Duplex-Bench v1 take-overs.
    public var pausesByKind: [String: PauseCount] = [:]
    public struct PauseCount: Sendable, Equatable {
        public var turns = 0
        public var takeovers = 0
        public init(turns: Int = 0, takeovers: Int = 0) {
            self.turns = turns
            self.takeovers = takeovers
        }
    }
    /// Backchannels said while the device spoke, and how many of those made it stop for good.
    public var backchannels = 0
    public var backchannelStops = 0
    /// Of those, how many broke its speech for more than 150 ms (cut, and said again later or not
    /// at all); ducked speech that goes on is not a break.
    public var backchannelBreaks = 0
    /// Annotated start of user speech over the device (an interruption or a backchannel) to its
    /// barge-in, when it ducks (the device's playback buffer comes on top).
    public var duckLatencies: [Double] = []
    /// Ducks with no user speech near (the device ducked for faint speech that was its own echo).
    public var ducksWithoutSpeech = 0
    /// The device's own backchannels, and how many of them sounded over the user's words: started
    /// while the user spoke, or still sounding 150 ms after they spoke again (not cut in time).
    public var deviceBackchannels = 0
    public var deviceBackchannelsOverSpeech = 0

    public init() {}

    static let active: Float = 0.01  // -40 dBFS

    /// `wordStarts` gives where each word of a line the device says begins, seconds into it (the
    /// synthesizer's word marks): Full-Duplex-Bench transcribes the output, so a reply cut after
    /// two words counts two.
    public static func measure(output: [Float], labels: DialogLabels, events: [Event],
                               wordStarts: ((String) -> [Double])? = nil) -> TurnMetrics {
        var m = TurnMetrics()
        let rate = Double(labels.sampleRate)
        let utterances = labels.utterances.sorted { $0.start < $1.start }
        // Where the device murmured its own backchannel (to its playback_stop): not a turn it took.
        let murmurs: [Range<Int>] = events.filter { $0.kind == .backchannel }.map { e in
            let stop = events.first { $0.kind == .playbackStop && $0.time > e.time }?.time ?? e.time + 1
            return Int(e.time * rate)..<Int(stop * rate)
        }
        // The device is speaking at `time` if it was heard within the 400 ms before, or it is
        // between a playback_start and its playback_stop: the pause after a full stop in a reply
        // (0.35 s in espeak-ng's voice, give or take its state) can take up nearly all of 400 ms.
        func speaking(at time: Double) -> Bool {
            let start = Int(time * rate)
            guard start < output.count else { return false }
            let lookBack = max(0, start - Int(0.4 * rate))
            if (lookBack..<start).contains(where: { abs(output[$0]) > active }) { return true }
            guard let began = events.filter({ $0.kind == .playbackStart && $0.time <= time }).map(\.time).max() else { return false }
            return !events.contains { $0.kind == .playbackStop && $0.time >= began && $0.time <= time }
        }
        for (k, u) in utterances.enumerated() {
            let endSample = Int(u.end * rate)
            let next = k + 1 < utterances.count ? Int(utterances[k + 1].start * rate) : output.count
            let commandHeard = events.first { $0.kind == .command && $0.time >= u.start && $0.time <= u.end + 1.0 }
            let limit = min(next, endSample + Int(2.5 * rate), output.count)
            // The answer is the first sound that is not the device's own murmured backchannel.
            let answer = endSample < limit
                ? (endSample..<limit).first { i in abs(output[i]) > active && !murmurs.contains { $0.contains(i) } } : nil
            if u.kind == "command" {
                m.commands += 1
                if commandHeard?.text == u.text { m.commandsRecognized += 1 }
                if let answer { m.commandLatencies.append(Double(answer - endSample) / rate) }
                continue
            }
            if commandHeard != nil { m.commandFalseAccepts += 1 }
            if u.kind == "backchannel" {
                guard speaking(at: u.start) else { continue }
                m.backchannels += 1
                // It stopped for good unless it went on with what it was saying.
                let wentOn = events.contains { $0.kind == .resume && $0.time >= u.start && $0.time <= u.end + 1.0 }
                let cut = events.contains { $0.kind == .bargeIn && $0.time >= u.start && $0.time <= u.end + 0.5 }
                if cut && !wentOn { m.backchannelStops += 1 }
                if let stop = events.first(where: { $0.kind == .playbackStop && $0.detail == "cut" && $0.time >= u.start && $0.time <= u.end + 0.5 }) {
                    let again = events.first { $0.kind == .playbackStart && $0.time > stop.time }?.time ?? .infinity
                    if again - stop.time > 0.15 { m.backchannelBreaks += 1 }
                }
                m.duckLatencies += Self.duckLatency(u, events)
                continue
            }
            if let ps = u.pauseStart, let pe = u.pauseEnd {
                m.pausedTurns += 1
                let kind = u.pauseKind ?? "pause"
                m.pausesByKind[kind, default: PauseCount()].turns += 1
                let a = Int(ps * rate), b = min(Int(pe * rate), output.count)
                let onset = a < b ? (a..<b).first { i in abs(output[i]) > active && !murmurs.contains { $0.contains(i) } } : nil
                if let onset {
                    m.pauseTakeovers += 1
                    let heard = Double(Self.lastSound(output, from: onset, rate: rate) - onset) / rate
                    let reply = events.first { $0.kind == .replyStart && $0.time >= ps && $0.time < pe }?.text ?? ""
                    let words = wordStarts.map { $0(reply).filter { $0 < heard }.count } ?? reply.split(separator: " ").count
                    if heard >= 1 || words > 3 {
                        m.pauseTakeoversFDB += 1
                        m.pausesByKind[kind, default: PauseCount()].takeovers += 1
                    }
                }
            }
            if u.kind == "turn" {
                m.userTurns += 1
                if let answer {
                    m.turnLatencies.append(Double(answer - endSample) / rate)
                } else {
                    m.missedTurns += 1
                }
            } else {
                m.interruptions += 1
                if answer != nil { m.interruptionTakeovers += 1 }
                guard speaking(at: u.start) else { continue }
                let start = Int(u.start * rate)
                m.overlappingInterruptions += 1
                m.duckLatencies += Self.duckLatency(u, events)
                m.stopLatencies.append(Double(Self.lastSound(output, from: start, rate: rate) + 1 - start) / rate)
            }
        }
        for e in events where e.kind == .bargeIn || e.kind == .duck {
            // (A duck counts from 0.1 s before, as `duckLatency` does.)
            let early = e.kind == .duck ? 0.1 : 0
            guard !utterances.contains(where: { e.time >= $0.start - early && e.time <= $0.end + 0.5 }) else { continue }
            if e.kind == .bargeIn { m.falseBargeIns += 1 } else { m.ducksWithoutSpeech += 1 }
        }
        // The user's speech, pauses left out.
        let speech: [Range<Int>] = utterances.flatMap { u -> [Range<Int>] in
            let (a, b) = (Int(u.start * rate), Int(u.end * rate))
            guard let ps = u.pauseStart, let pe = u.pauseEnd else { return [a..<b] }
            return [a..<Int(ps * rate), Int(pe * rate)..<b]
        }
        let grace = Int(0.15 * rate)
        for murmur in murmurs {
            m.deviceBackchannels += 1
            let over = speech.contains { s in
                let a = max(murmur.lowerBound, s.lowerBound + grace), b = min(murmur.upperBound, s.upperBound, output.count)
                return s.contains(murmur.lowerBound) || (a < b && (a..<b).contains { abs(output[$0]) > active })
            }
            if over { m.deviceBackchannelsOverSpeech += 1 }
        }
        m.replies = events.filter { $0.kind == .replyStart }.count
        return m
    }

    /// Where each word of a line begins when `synthesizer` says it, seconds into it: where the
    /// previous word ends (where espeak-ng marks the next word after it; an unstressed word run into
    /// the next has no mark of its own). For `measure`'s `wordStarts`; the lines repeat, so each is
    /// synthesized once.
    public static func wordStarts(_ synthesizer: SpeechSynthesizer) -> (String) -> [Double] {
        let cache = Cache()
        return { text in
            if let known = cache.starts[text] { return known }
            let offsets = DialogScript.wordOffsets(text)
            // A line the voice cannot say is counted whole, as if every word were heard at once.
            guard let marks = try? synthesizer.synthesizeWords(text).marks else { return offsets.map { _ in 0 } }
            let starts = offsets.indices.map { i -> Double in
                guard i > 0 else { return 0 }
                let end = marks.first { $0.character > offsets[i - 1] } ?? marks.last
                return Double(end?.sample ?? 0) / Double(ProcessingFormat.sampleRate)
            }
            cache.starts[text] = starts
            return starts
        }
    }

    /// (A bench measures one dialog after another: the cache is never shared between threads.)
    private final class Cache: @unchecked Sendable {
        var starts: [String: [Double]] = [:]
    }

    /// The last sample above -40 dBFS of the sound going on at `start`: where 400 ms of quiet
    /// begin (longer than any pause between a reply's words); `start` itself if it is quiet.
    static func lastSound(_ output: [Float], from start: Int, rate: Double) -> Int {
        let quiet = Int(0.4 * rate)
        var last = start, i = start
        while i < output.count && i - last < quiet {
            if abs(output[i]) > active { last = i }
            i += 1
        }
        return last
    }

    /// When the device was heard to yield to speech `u` over it, seconds after its start: the
    /// first sample of its voice 10 dB down (a duck) or cut off, as played, not when it was decided
    /// (none if it never came).
    static func duckLatency(_ u: DialogLabels.Utterance, _ events: [Event]) -> [Double] {
        events.first { e in
            (e.kind == .duck || (e.kind == .playbackStop && e.detail == "cut")) && e.time >= u.start - 0.1 && e.time <= u.end + 0.5
        }.map { [$0.time - u.start] } ?? []
    }

    public mutating func add(_ other: TurnMetrics) {
        turnLatencies += other.turnLatencies
        missedTurns += other.missedTurns
        stopLatencies += other.stopLatencies
        overlappingInterruptions += other.overlappingInterruptions
        interruptions += other.interruptions
        interruptionTakeovers += other.interruptionTakeovers
        falseBargeIns += other.falseBargeIns
        replies += other.replies
        userTurns += other.userTurns
        commands += other.commands
        commandsRecognized += other.commandsRecognized
        commandLatencies += other.commandLatencies
        commandFalseAccepts += other.commandFalseAccepts
        pausedTurns += other.pausedTurns
        pauseTakeovers += other.pauseTakeovers
        pauseTakeoversFDB += other.pauseTakeoversFDB
        for (kind, c) in other.pausesByKind {
            pausesByKind[kind, default: PauseCount()].turns += c.turns
            pausesByKind[kind, default: PauseCount()].takeovers += c.takeovers
        }
        backchannels += other.backchannels
        backchannelStops += other.backchannelStops
        backchannelBreaks += other.backchannelBreaks
        duckLatencies += other.duckLatencies
        ducksWithoutSpeech += other.ducksWithoutSpeech
        deviceBackchannels += other.deviceBackchannels
        deviceBackchannelsOverSpeech += other.deviceBackchannelsOverSpeech
    }
}

public enum Percentile {
    /// Nearest-rank percentile (p in 0...100); nil for no data.
    public static func of(_ values: [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }
}
