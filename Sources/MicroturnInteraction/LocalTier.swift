import Foundation
import MicroturnCore

/// The local model's part in a session, and the one home of its state: the stops of the user's
/// speech it was asked about, what it said about the latest, the acknowledgement a turn end waits
/// for, and the offline answers coming. The frame loop calls it; the model works on its own thread.
final class LocalTier {
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
    /// speech ended, and what is said if the model's line is not there in time.
    private var waiting: (speechEnd: Int, fallback: String)?

    /// What one frame's poll brought.
    struct News {
        /// The words' term to add to the turn-end log-odds of the latest stop (it just arrived).
        var wordsLogit: Double?
        /// An acknowledgement to say now (the one waited for arrived, or the fixed phrase when
        /// it did not in time), and where its words came from.
        var say: (text: String, speechEnd: Int, origin: String)?
        var answers: [(turn: Int, text: String)] = []
        var failures: [String] = []
    }

    /// What is said at capture sample t is heard a little later (synthesis, the playback buffer):
    /// the fixed phrase goes this early, so that it too starts by the deadline.
    static let startMargin = ProcessingFormat.samples(ms: 60)

    init(model: LocalModel, words: LiveWords, config: MicroturnConfig.Model, virtualClock: Bool) {
        self.model = model
        self.words = words
        deadlineSamples = ProcessingFormat.samples(ms: config.replyDeadlineMs)
        weight = config.wordsWeight
        centerLogit = log(config.wordsCenter / (1 - config.wordsCenter))
        waitForResults = virtualClock
        model.settle()
    }

    /// Audio the user's turn added.
    func heard(_ audio: ArraySlice<Float>, begins: Bool) { words.hear(Array(audio), begins: begins) }

    /// The user's speech stopped at capture sample `t`: the model drafts on the words so far.
    func stopped(at t: Int) {
        stop += 1
        acknowledgement = nil
        let (model, s) = (model, stop)
        words.words(upTo: t) { model.draft(stop: s, words: $0) }
        if waitForResults { unfinished += 1 }
    }

    /// The user spoke again: an acknowledgement not said yet is not said.
    func userSpoke() { waiting = nil }

    /// Where an acknowledgement's words came from (its event's detail).
    static let fromModel = "the local model"
    static let unusable = "fixed phrase: the local model wrote nothing usable"
    static let late = "fixed phrase: the local model was late"

    /// Said before the model's own answer to a request it could not send.
    static let offlineIntro = "While I'm offline, my own short answer: "

    /// The user's turn is over (the recognizer lets go of it).
    func turnEnded() { words.endTurn() }

    /// The turn ended with a request for the background: the acknowledgement to say now, or nil
    /// when it is being written (a later `poll` says it, or the fixed phrase at the deadline).
    func acknowledge(speechEnd: Int, fallback: String) -> (text: String, origin: String)? {
        if let made = acknowledgement { return made.map { ($0, Self.fromModel) } ?? (fallback, Self.unusable) }
        waiting = (speechEnd, fallback)
        return nil
    }

    /// Turn `turn`'s request could not be sent: the model answers it itself.
    func answerOffline(turn: Int, speechEnd: Int) {
        words.words(upTo: speechEnd) { [model] in model.answer(turn: turn, words: $0) }
        if waitForResults { unfinished += 1 }
    }

    /// What the model finished, and an acknowledgement due at capture sample `now`.
    func poll(now: Int) -> News {
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
                let q = min(max(p, 1e-6), 1 - 1e-6)
                news.wordsLogit = weight * (log(q / (1 - q)) - centerLogit)
            case let .acknowledgement(s, text, _):
                guard s == stop else { continue }
                acknowledgement = .some(text)
            case let .answer(turn, text, _):
                if let text { news.answers.append((turn, text)) }
            case let .failed(why):
                news.failures.append(why)
            }
        }
        if let (end, fallback) = waiting {
            if let made = acknowledgement {
                news.say = made.map { ($0, end, Self.fromModel) } ?? (fallback, end, Self.unusable)
                waiting = nil
            } else if now + Self.startMargin >= end + deadlineSamples {
                news.say = (fallback, end, Self.late)
                waiting = nil
            }
        }
        return news
    }
}
