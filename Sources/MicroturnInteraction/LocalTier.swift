import Foundation
import MicroturnCore
import MicroturnInference
import Synchronization

/// The local model's part in a session, and the one home of its state: the stops of the user's
/// speech it was asked about, what it said about the latest, the acknowledgement a turn end waits
/// for, and the offline answers coming. The frame loop calls it; the model works on its own thread.
public final class LocalTier {
    let model: LocalModel
    let words: LiveWords
    private let deadlineSamples: Int
    private let weight: Double
    private let centerLogit: Double
    /// On the virtual clock every result is waited for as soon as it is asked (so a run on files
    /// decides the same on any machine, as playback is waited for); on a real clock, never.
    private let waitForResults: Bool
    /// Jobs asked and not finished (counted on the virtual clock only): each ends with exactly one
    /// acknowledgement, answer or failure.
    private var unfinished = 0

    /// The latest stop of the user's speech (the model's drafts are numbered by them).
    private(set) var stop = 0
    /// The model's acknowledgement of the latest stop: nil while it is being written, .some(nil)
    /// when it wrote nothing usable.
    private var acknowledgement: String??
    /// A turn that went to the background and waits for the acknowledgement: where the user's
    /// speech ended, what is said if the model's line is not written at all, and whether its
    /// opening ("Let me check") is being said already (then only its rest follows).
    private var waiting: (speechEnd: Int, fallback: String, opened: Bool)?

    /// What one frame's poll brought.
    struct News {
        /// The words' term to add to the turn-end log-odds of the latest stop (it just arrived).
        var wordsLogit: Double?
        /// An acknowledgement, or the rest of one, to say now.
        var say: Said?
        var answers: [(turn: Int, text: String)] = []
        var failures: [String] = []
    }

    /// An acknowledgement to say (the one waited for arrived; or at the deadline, its opening; or
    /// the fixed phrase), where its words came from, and whether it is the rest of a line whose
    /// opening is being said.
    struct Said: Equatable {
        var text: String
        var speechEnd: Int
        var origin: String
        var continuing = false
    }

    /// What is said at capture sample t is heard a little later (synthesis, the playback buffer):
    /// the fixed phrase goes this early, so that it too starts by the deadline.
    static let startMargin = ProcessingFormat.samples(ms: 60)

    init(model: LocalModel, words: LiveWords, config: MicroturnConfig.Model, virtualClock: Bool) {
        self.model = model
        self.words = words
        deadlineSamples = ProcessingFormat.samples(ms: config.replyDeadlineMs)
        weight = config.wordsWeight
        centerLogit = WordsTurnEnd.logit(config.wordsCenter)
        waitForResults = virtualClock
        model.settle()
    }

    /// While the user speaks (on a real clock), the model works ahead on their words so far this
    /// often, so that a stop after words it has seen is drafted at once.
    static let prepareEvery = ProcessingFormat.samples(ms: 100)
    private var preparedAt = Int.min

    /// Audio the user's turn added, up to capture sample `t`, said after the device's line
    /// `after` (the model judges the words as a reply to it).
    func heard(_ audio: ArraySlice<Float>, begins: Bool, at t: Int, after: String?) {
        words.hear(Array(audio), begins: begins, endingAt: t)
        // On the virtual clock every draft is waited for anyway: working ahead would change nothing.
        guard !waitForResults, begins || t - preparedAt >= Self.prepareEvery else { return }
        preparedAt = t
        words.words(upTo: t, speaking: true) { [model] in model.prepare(words: $0, after: after) }
    }

    /// The user's speech stopped at capture sample `t`: the model drafts on the words so far,
    /// said after the device's line `after`.
    func stopped(at t: Int, after: String?) {
        stop += 1
        acknowledgement = nil
        let (model, s) = (model, stop)
        words.words(upTo: t, speaking: false) { model.draft(stop: s, words: $0, after: after) }
        if waitForResults { unfinished += 1 }
    }

    /// The user spoke again: an acknowledgement not said yet is not said.
    func userSpoke() { waiting = nil }

    /// Where an acknowledgement's words came from (its event's detail).
    public static let fromModel = "the local model"
    public static let unusable = "fixed phrase: the local model wrote nothing usable"
    public static let late = "fixed phrase: the local model was late"
    /// The line's opening, said at the deadline while the model still writes the rest: the
    /// device is heard by the deadline, and the model's words follow without a new turn.
    public static let opening = "the local model's opening, said while it wrote the rest"
    /// How a line whose opening was said ends when the model's rest is unusable or not written
    /// before the opening has been heard.
    public static let fixedRest = " that."

    /// Said before the model's own answer to a request it could not send.
    public static let offlineIntro = "While I'm offline, my own short answer: "

    /// The user's turn is over (the recognizer lets go of it).
    func turnEnded() {
        words.endTurn()
        spokenOver.state.withLock { $0 = (.unknown, false, $0.turn + 1) }
    }

    /// What the words of the user's turn over the device's speech are (the latest the source
    /// gave), whether they have been asked for and not given yet (a recognizer answers on its own
    /// thread, and is not asked again before it has), and which turn they are of (an answer that
    /// comes after its turn ended is dropped).
    private final class SpokenOver: Sendable {
        let state = Mutex<(verdict: BackchannelWords.Verdict, asking: Bool, turn: Int)>((.unknown, false, 0))
    }
    private let spokenOver = SpokenOver()

    /// The user speaks over the device from capture sample `since`, up to `t`: what their words
    /// so far are. On the virtual clock the words are waited for, so that a run decides the same
    /// every time.
    func wordsOverDevice(since: Int?, upTo t: Int) -> BackchannelWords.Verdict {
        let box = spokenOver
        let (ask, turn) = box.state.withLock { s in defer { s.asking = true }; return (!s.asking, s.turn) }
        if ask {
            let given = waitForResults ? DispatchSemaphore(value: 0) : nil
            // Faint speech the device ducked for has not barged in yet: it began about now.
            words.words(upTo: t, speaking: true, since: since ?? t) { w in
                box.state.withLock { s in if s.turn == turn { s = (BackchannelWords.verdict(w), false, turn) } }
                given?.signal()
            }
            given?.wait()
        }
        return box.state.withLock { $0.verdict }
    }

    /// What the words of the turn ending now were, as far as they were asked for over the device.
    var turnWords: BackchannelWords.Verdict { spokenOver.state.withLock { $0.verdict } }

    /// The turn ended with a request for the background: the acknowledgement to say now, or nil
    /// when it is being written (a later `poll` says it, or its opening at the deadline).
    func acknowledge(speechEnd: Int, fallback: String) -> (text: String, origin: String)? {
        if let made = acknowledgement { return made.map { ($0, Self.fromModel) } ?? (fallback, Self.unusable) }
        waiting = (speechEnd, fallback, false)
        return nil
    }

    /// Turn `turn`'s request could not be sent: the model answers it itself.
    func answerOffline(turn: Int, speechEnd: Int) {
        words.words(upTo: speechEnd, speaking: false) { [model] in model.answer(turn: turn, words: $0) }
        if waitForResults { unfinished += 1 }
    }

    /// What the model finished, and an acknowledgement due at capture sample `now`. `openingHeardBy`:
    /// where what is being said will have been heard (nil: not known yet); an opening's rest must
    /// be there before that.
    func poll(now: Int, openingHeardBy: Int?) -> News {
        var news = News()
        news.failures = words.takeFailures()
        var results = model.take()
        func finished(_ r: [LocalModel.Result]) -> Int { r.filter(\.endsAJob).count }
        while waitForResults && unfinished > finished(results), model.waitForResult(timeoutMs: 60_000) { results += model.take() }
        unfinished = max(0, unfinished - finished(results))
        for r in results {
            switch r {
            case let .endOfTurn(s, p, _):
                guard s == stop, let p else { continue }
                news.wordsLogit = weight * (WordsTurnEnd.logit(p) - centerLogit)
            case let .acknowledgement(s, text, _):
                guard s == stop else { continue }
                acknowledgement = .some(text)
            case let .answer(turn, text, _):
                if let text { news.answers.append((turn, text)) }
            case let .failed(why):
                news.failures.append(why)
            }
        }
        if let (end, fallback, opened) = waiting {
            let opening = LocalModel.acknowledgementOpening
            if let made = acknowledgement {
                news.say = switch (made, opened) {
                case let (line?, false): Said(text: line, speechEnd: end, origin: Self.fromModel)
                case (nil, false): Said(text: fallback, speechEnd: end, origin: Self.unusable)
                case let (line?, true): Said(text: String(line.dropFirst(opening.count)), speechEnd: end, origin: Self.fromModel, continuing: true)
                case (nil, true): Said(text: Self.fixedRest, speechEnd: end, origin: Self.unusable, continuing: true)
                }
                waiting = nil
            } else if opened {
                if let by = openingHeardBy, now + Self.startMargin >= by {
                    news.say = Said(text: Self.fixedRest, speechEnd: end, origin: Self.late, continuing: true)
                    waiting = nil
                }
            } else if now + Self.startMargin >= end + deadlineSamples {
                news.say = Said(text: opening, speechEnd: end, origin: Self.opening)
                waiting?.opened = true
            }
        }
        return news
    }
}
