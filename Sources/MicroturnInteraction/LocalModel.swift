import Foundation
import MicroturnCore
import MicroturnInference
import Synchronization

/// The device's own chat model (`model.path`), run on a thread of its own with the engine's worker
/// pool of `board.threads`, never on the frame loop. It is given the user's words at each stop of
/// their speech and drafts, ahead of the turn decision: how likely the turn is over from the words
/// (`WordsTurnEnd`), and the short acknowledgement the device says if the request goes to the
/// background. With the link down it answers a question itself. The session polls the results
/// and uses one only if it arrived in time: a slow model never holds up a decision.
public final class LocalModel: @unchecked Sendable {
    /// What the model made of the user's words, each as soon as it is ready (the judgement of a
    /// stop comes before its acknowledgement, which takes longer to write).
    public enum Result: Sendable, Equatable {
        /// P(the user's message ends here) after stop `stop` (the session's number of it; newer
        /// stops make older ones moot), from the words alone.
        /// (nil: no words were heard).
        case endOfTurn(stop: Int, probability: Double?, seconds: Double)
        /// "Let me check ...", or nil when the model's line was not usable (too long, unfinished,
        /// or not about the request): then the device says its fixed phrase.
        case acknowledgement(stop: Int, text: String?, seconds: Double)
        /// The model's own short answer to turn `turn`'s request, which could not be sent (nil:
        /// it wrote nothing usable).
        case answer(turn: Int, text: String?, seconds: Double)
        /// A job that failed, and why.
        case failed(String)

        /// The last result of a job (a stop's judgement comes before its acknowledgement).
        public var endsAJob: Bool { if case .endOfTurn = self { false } else { true } }
    }

    private let thread = SerialThread(name: "microturn-model")
    private let judge: WordsTurnEnd
    /// The same model again (the file is mapped twice; its pages are shared) with a key/value cache
    /// of its own: the replies' long fixed beginning stays in it, so a reply reads only the user's
    /// words, however often the judge's shorter prompts come in between.
    private let generator: Generator
    private let finished = Mutex<[Result]>([])
    private let ready = DispatchSemaphore(value: 0)
    /// The latest stop submitted: a draft for an older one is skipped, not computed.
    private let latestStop = Atomic<Int>(-1)

    public init(path: String, threads: Int, kvCache: KVCache.Precision = .f16) throws {
        judge = try WordsTurnEnd(generator: Generator(path: path, threads: threads, kvCache: kvCache))
        generator = try Generator(path: path, threads: threads, kvCache: kvCache)
        // The first job would read the prompts' fixed beginnings (and touch every weight page):
        // done now, before the user speaks.
        thread.async { [self] in
            _ = try? judge.probability("hello")
            _ = try? acknowledgement(to: "hello")
        }
    }

    /// The model a configuration names (`model.path`, with `board.threads` and `model.kv_cache`),
    /// nil when it names none.
    public static func configured(_ c: MicroturnConfig) throws -> LocalModel? {
        guard !c.model.path.isEmpty else { return nil }
        return try LocalModel(path: c.model.path, threads: c.board.threads, kvCache: KVCache.Precision(rawValue: c.model.kvCache) ?? .f16)
    }

    /// Drafts for stop `stop` (numbers increase) of the user's words so far ("": none heard):
    /// the judgement, then the acknowledgement (or a failure). A newer stop makes the work moot:
    /// then the acknowledgement comes at once, empty, so that every draft ends with one.
    public func draft(stop: Int, words: String) {
        latestStop.store(stop, ordering: .relaxed)
        thread.async { [self] in
            guard latestStop.load(ordering: .relaxed) == stop else { return post(.acknowledgement(stop: stop, text: nil, seconds: 0)) }
            let started = Date()
            guard !WordsTurnEnd.normalize(words).isEmpty else {
                post(.endOfTurn(stop: stop, probability: nil, seconds: 0))
                post(.acknowledgement(stop: stop, text: nil, seconds: 0))
                return
            }
            do {
                post(.endOfTurn(stop: stop, probability: try judge.probability(words), seconds: Date().timeIntervalSince(started)))
                // A stop that came meanwhile will have its own acknowledgement.
                guard latestStop.load(ordering: .relaxed) == stop else { return post(.acknowledgement(stop: stop, text: nil, seconds: 0)) }
                let line = try acknowledgement(to: words)
                post(.acknowledgement(stop: stop, text: line, seconds: Date().timeIntervalSince(started)))
            } catch {
                post(.failed("the local model failed on \"\(words)\": \(error)"))
            }
        }
    }

    /// Answers turn `turn`'s question itself (the link is down); one result follows.
    public func answer(turn: Int, words: String) {
        thread.async { [self] in
            guard !WordsTurnEnd.normalize(words).isEmpty else { return post(.answer(turn: turn, text: nil, seconds: 0)) }
            let started = Date()
            do {
                let text = try shortAnswer(to: words)
                post(.answer(turn: turn, text: text, seconds: Date().timeIntervalSince(started)))
            } catch {
                post(.failed("the local model failed to answer \"\(words)\": \(error)"))
            }
        }
    }

    /// Results finished since the last call, oldest first.
    public func take() -> [Result] { finished.withLock { r in defer { r.removeAll() }; return r } }

    /// Waits up to `timeoutMs` for a result to finish (the virtual clock waits for the model the way
    /// it waits for playback, so a run decides the same on any machine). True when one is there.
    public func waitForResult(timeoutMs: Int) -> Bool {
        let deadline = DispatchTime.now() + .milliseconds(timeoutMs)
        // A signal can be left from a result taken before it was waited for: wait again.
        while finished.withLock({ $0.isEmpty }) {
            if ready.wait(timeout: deadline) == .timedOut { return finished.withLock { !$0.isEmpty } }
        }
        return true
    }

    /// Waits for the jobs asked so far to finish and drops their results: a new session (the
    /// same model serves one after another in a benchmark) starts clean.
    public func settle() {
        let done = DispatchSemaphore(value: 0)
        thread.async { done.signal() }
        done.wait()
        _ = take()
    }

    private func post(_ result: Result) {
        finished.withLock { $0.append(result) }
        ready.signal()
    }

    // MARK: What the model is asked

    static let acknowledgementOpening = "Let me check"
    private static let acknowledgementSystem = """
        You are the voice of a small device. The user's request has gone to a helper who will look it up. \
        Say in one short sentence what you will check. Do not answer it.
        """
    /// Worked examples: a model this small follows a shown pattern better than a described one.
    /// None of them is about the domains the device is evaluated on.
    private static let acknowledgementExamples = [
        ChatMessage(.user, "what time does the library close tonight"),
        ChatMessage(.assistant, "Let me check the library's closing time."),
        ChatMessage(.user, "how do i change the battery in my smoke alarm"),
        ChatMessage(.assistant, "Let me check how to change the smoke alarm battery."),
        ChatMessage(.user, "is there a bus to the airport after midnight"),
        ChatMessage(.assistant, "Let me check the late buses to the airport."),
    ]
    private static let answerSystem = "You are a helpful assistant on a small device. Answer in one short sentence."

    /// "Let me check ..." about the request, or nil when the model's words are not usable.
    private func acknowledgement(to words: String) throws -> String? {
        let messages = [ChatMessage(.system, Self.acknowledgementSystem)] + Self.acknowledgementExamples
            + [ChatMessage(.user, WordsTurnEnd.normalize(words))]
        let line = try firstSentence(messages: messages, opening: Self.acknowledgementOpening, budget: 14)
        guard let line, Self.isAbout(line, request: words) else { return nil }
        return line
    }

    private func shortAnswer(to words: String) throws -> String? {
        let messages = [ChatMessage(.system, Self.answerSystem), ChatMessage(.user, WordsTurnEnd.normalize(words))]
        return try firstSentence(messages: messages, opening: "", budget: 40)
    }

    /// The reply's first sentence, `opening` given as its start; nil when no sentence ends within
    /// `budget` tokens (a line cut in the middle is not said).
    private func firstSentence(messages: [ChatMessage], opening: String, budget: Int) throws -> String? {
        var prompt = try generator.chatPrompt(messages, budget: budget + 16)
        if !opening.isEmpty { prompt += generator.tokenizer.encode(opening) }
        var options = Generator.Options()
        options.budget = budget
        let stop = Cancellation()
        var text = ""
        _ = try generator.generate(prompt: prompt, options: options, cancel: stop) { piece in
            text += piece
            if text.contains(where: { ".?!".contains($0) }) { stop.cancel() }
        }
        guard let end = text.firstIndex(where: { ".?!".contains($0) }) else { return nil }
        let sentence = (opening + text[...end]).trimmingCharacters(in: .whitespacesAndNewlines)
        return sentence.count > opening.count + 1 ? sentence : nil
    }

    /// The line names something the user asked about: a word of four or more letters of theirs
    /// that is not a function word. A line that could follow any request is not an acknowledgement
    /// of this one.
    static func isAbout(_ line: String, request: String) -> Bool {
        let asked = Set(WordsTurnEnd.normalize(request).split(separator: " ").filter { $0.count >= 4 && !functionWords.contains(String($0)) })
        let said = WordsTurnEnd.normalize(line).split(separator: " ").dropFirst(3)  // past "let me check"
        return said.contains { asked.contains($0) }
    }

    private static let functionWords: Set<String> = [
        "what", "when", "where", "which", "will", "would", "could", "should", "about", "there", "their", "them", "they",
        "this", "that", "these", "those", "with", "from", "have", "does", "doing", "your", "yours", "some", "tell", "please",
        "like", "just", "know", "want", "need", "think", "maybe", "been", "were", "into", "much", "many", "then", "than",
    ]
}
