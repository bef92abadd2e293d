import Foundation
import MicroturnAudio
import MicroturnCore
import Synchronization

/// The user's words while they speak, for the local model: from PocketSphinx streaming on a thread
/// of its own (fed the turn's audio as it is heard; decoding with a language model costs too much
/// for the frame loop), or, in a simulation that measures the model apart from the recognizer,
/// from the dialog's script (what a perfect recognizer would give).
public final class LiveWords: @unchecked Sendable {
    /// One utterance of a script: where it starts, and its words so far at capture samples.
    public struct Scripted: Sendable, Equatable {
        public var start: Int
        public var words: [(end: Int, text: String)]
        public init(start: Int, words: [(end: Int, text: String)]) {
            self.start = start
            self.words = words
        }
        public static func == (a: Scripted, b: Scripted) -> Bool {
            a.start == b.start && a.words.map(\.end) == b.words.map(\.end) && a.words.map(\.text) == b.words.map(\.text)
        }
    }

    /// The recognizer, only ever used on its own thread.
    private final class Recognizer: @unchecked Sendable {
        let transcriber: Transcriber
        /// Capture sample where the utterance being decoded begins.
        var start = 0
        init(_ t: Transcriber) { transcriber = t }
    }

    private enum Source {
        case recognizer(Recognizer, SerialThread)
        case script([Scripted])
    }

    private let source: Source
    /// The recognizer's failures, for the session to report.
    private let failures = FailureList()

    /// PocketSphinx with Debian's general en-us language model.
    public init(recognizerModel: String = CommandRecognizer.defaultModel) throws(AudioError) {
        source = .recognizer(Recognizer(try Transcriber(modelDirectory: recognizerModel)), SerialThread(name: "microturn-words"))
    }

    public init(script: [Scripted]) {
        source = .script(script.sorted { $0.start < $1.start })
    }

    /// Audio the user's turn added, ending at capture sample `t` (`begins`: the first of a new
    /// turn, from its onset).
    func hear(_ audio: [Float], begins: Bool, endingAt t: Int) {
        guard case let .recognizer(r, thread) = source, !audio.isEmpty else { return }
        let failures = failures
        thread.async {
            do {
                if begins {
                    r.start = t - audio.count
                    try r.transcriber.begin()
                }
                try r.transcriber.feed(audio)
            } catch {
                failures.add("\(error)")
            }
        }
    }

    /// The turn is over: the recognizer lets go of it.
    func endTurn() {
        guard case let .recognizer(r, thread) = source else { return }
        thread.async { _ = r.transcriber.end() }
    }

    /// Calls `then` with the words heard up to capture sample `t` ("" for none), after everything
    /// heard before (on the recognizer's thread, or at once from a script). `speaking`: the user
    /// is still speaking at `t` (a script gives only the words already ended; at a stop it gives
    /// those a voice detector may have cut short). `since`: where the speech asked about began (a
    /// script's utterance that began well before is not it: that speech is none of the script's,
    /// the device's echo, say). Speech over the device is asked about from its first frames, before
    /// its audio has begun for the recognizer (a turn's audio starts once the voice detector has
    /// confirmed its onset, a duck for faint speech comes before that): until the recognizer's
    /// utterance begins about there, it has no words of that speech, and the last turn's are not them.
    func words(upTo t: Int, speaking: Bool, since: Int? = nil, then: @escaping @Sendable (String) -> Void) {
        switch source {
        case let .recognizer(r, thread):
            thread.async {
                if let since, r.start < since - 2 * Self.slack { return then("") }
                then(r.transcriber.words())
            }
        case let .script(utterances):
            then(Self.scripted(utterances, upTo: t, speaking: speaking, since: since))
        }
    }

    /// The words of `script` (sorted by start) a perfect recognizer has given by capture sample `t`:
    /// the session's words in a run on a script, and the words `bench fit-turns` fits their weight on.
    /// With `since` (where the speech asked about began): only the words said after it, as the
    /// session's recognizer hears them from 200 ms before it (the rest of a turn after a pause the
    /// device talked into), and none of an utterance over by then (the device's echo, say).
    public static func scripted(_ script: [Scripted], upTo t: Int, speaking: Bool, since: Int? = nil) -> String {
        // The utterance being heard is the last one begun; only its own words count.
        // The annotated end is where the words fall below -50 dBFS; the voice detector may let go
        // a little before that.
        let slack = Self.slack
        guard let u = script.last(where: { $0.start <= t }) else { return "" }
        let said = u.words.last { $0.end <= t + (speaking ? 0 : slack) }?.text ?? ""
        guard let since else { return said }
        guard let last = u.words.last, last.end >= since - slack else { return "" }
        let before = u.words.last { $0.end <= since - slack }?.text ?? ""
        return said.split(separator: " ").dropFirst(before.split(separator: " ").count).joined(separator: " ")
    }

    func takeFailures() -> [String] { failures.take() }

    /// The session's recognizer hears a turn from 200 ms before its onset, and a voice detector
    /// may let go of it as much before its annotated end.
    static let slack = ProcessingFormat.samples(seconds: 0.2)
}

/// Failures noted on another thread, taken by the frame loop.
final class FailureList: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ failure: String) { list.withLock { $0.append(failure) } }
    func take() -> [String] { list.withLock { l in defer { l.removeAll() }; return l } }
}
