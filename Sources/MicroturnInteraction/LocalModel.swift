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
    /// The newest words asked about (normalized), by a draft or a preparation: work on other words
    /// is moot and stops at its next step.
    private let latestWords = Mutex<String?>(nil)
    /// What was worked out for the last words the model thread finished on, after what the device
    /// had said (touched only there): a draft on words prepared while the user spoke costs nothing
    /// more.
    private var prepared: (words: String, after: String?, probability: Double, line: String??)?

    /// Thrown inside a job when newer words were asked about.
    private struct Moot: Error {}

    /// Which experts of an MoE model stay in memory (`model.resident_experts`, the profile's most
    /// salient) and what becomes of picks of the others (`model.residency`).
    public struct Experts: Sendable {
        public var profile: ExpertProfile
        public var keep: Int
        public var mode: ExpertResidency.Mode

        /// From a configuration; nil when it keeps every expert.
        public static func configured(_ m: MicroturnConfig.Model) throws -> Experts? {
            guard m.residentExperts > 0 else { return nil }
            return Experts(profile: try ExpertProfile.load(m.expertsProfile), keep: m.residentExperts,
                           mode: m.residency == "page" ? .page(cacheExperts: m.expertCache) : .reroute)
        }

        /// Puts them in charge of `t`'s experts, or says why they do not fit it.
        func attach(to t: Transformer) throws -> ExpertResidency {
            let c = t.config
            guard c.experts > 0 else {
                throw ConfigError.contradiction(first: "model.resident_experts", second: "model.path",
                                                reason: "\(t.file.path) is a dense model (no experts); set resident_experts = 0, or make an MoE (microturn model moefy --help)")
            }
            guard keep <= c.experts else {
                throw ConfigError.contradiction(first: "model.resident_experts", second: "model.path",
                                                reason: "\(t.file.path) has \(c.experts) experts per layer; keep 1 to \(c.experts), or 0 for all")
            }
            try profile.check(against: t.file, layers: c.layers, experts: c.experts)
            let r = ExpertResidency(keep: profile.mostSalient(keep), experts: c.experts, mode: mode)
            t.attach(r)
            return r
        }
    }

    /// The residency of each copy's experts (judge, reply writer); empty when all are kept.
    private var residencies: [ExpertResidency] = []

    public init(path: String, threads: Int, kvCache: KVCache.Precision = .f16, experts: Experts? = nil) throws {
        judge = try WordsTurnEnd(generator: Generator(path: path, threads: threads, kvCache: kvCache))
        generator = try Generator(path: path, threads: threads, kvCache: kvCache)
        if let experts { residencies = try [judge.generator.transformer, generator.transformer].map { try experts.attach(to: $0) } }
        // The first job would read the prompts' fixed beginnings (and touch every weight page):
        // done now, before the user speaks.
        thread.async { [self] in
            _ = try? judge.probability("hello")
            _ = try? acknowledgement(to: "hello") { false }
        }
    }

    /// The model a configuration names (`model.path`, with `board.threads` and `model.kv_cache`),
    /// nil when it names none.
    public static func configured(_ c: MicroturnConfig) throws -> LocalModel? {
        guard !c.model.path.isEmpty else { return nil }
        return try LocalModel(path: c.model.path, threads: c.board.threads, kvCache: KVCache.Precision(rawValue: c.model.kvCache) ?? .f16,
                              experts: Experts.configured(c.model))
    }

    /// How the experts kept in memory served the jobs so far (both copies together; nil when all
    /// are kept). Read it between jobs (after `settle`).
    public var expertStats: (residentPerLayer: Int, experts: Int, stats: ExpertResidency.Stats)? {
        guard let first = residencies.first else { return nil }
        var total = ExpertResidency.Stats()
        for r in residencies {
            total.resident += r.stats.resident
            total.hits += r.stats.hits
            total.misses += r.stats.misses
            total.rerouted += r.stats.rerouted
            total.stallNanoseconds += r.stats.stallNanoseconds
        }
        return (first.resident.first?.filter { $0 }.count ?? 0, first.resident.first?.count ?? 0, total)
    }

    /// Drafts for stop `stop` (numbers increase) of the user's words so far ("": none heard),
    /// said after the device's line `after` (nil: it has said nothing yet): the judgement, then the
    /// acknowledgement (or a failure). Newer words make the work moot:
    /// then the acknowledgement comes at once, empty, so that every draft ends with one. What a
    /// `prepare` of the same words already worked out is posted at once (its `seconds` is 0).
    public func draft(stop: Int, words: String, after: String? = nil) {
        let w = WordsTurnEnd.normalize(words)
        latestWords.withLock { $0 = w }
        thread.async { [self] in
            guard !w.isEmpty else {
                post(.endOfTurn(stop: stop, probability: nil, seconds: 0))
                post(.acknowledgement(stop: stop, text: nil, seconds: 0))
                return
            }
            do {
                let (p, judged) = try judgement(w, after: after)
                post(.endOfTurn(stop: stop, probability: p, seconds: judged))
                let (line, written) = try acknowledgement(w)
                post(.acknowledgement(stop: stop, text: line, seconds: judged + written))
            } catch is Moot {
                post(.acknowledgement(stop: stop, text: nil, seconds: 0))
            } catch {
                post(.failed("the local model failed on \"\(words)\": \(error)"))
            }
        }
    }

    /// Works out, ahead of the stop, what a draft of these words (the user's so far, still
    /// speaking) would: if they are still the words when the user stops, the draft is ready at
    /// once. Posts nothing; words already asked about are not worked on again.
    public func prepare(words: String, after: String? = nil) {
        let w = WordsTurnEnd.normalize(words)
        guard !w.isEmpty, latestWords.withLock({ l in defer { l = w }; return l != w }) else { return }
        thread.async { [self] in
            _ = try? judgement(w, after: after)
            _ = try? acknowledgement(w)
        }
    }

    private func isMoot(_ w: String) -> Bool { latestWords.withLock { $0 != w } }

    /// P(end) after normalized words `w` that follow the device's line `after`, and the seconds
    /// it took now (0: prepared before).
    private func judgement(_ w: String, after: String?) throws -> (Double, Double) {
        if let p = prepared, p.words == w, p.after == after { return (p.probability, 0) }
        guard !isMoot(w) else { throw Moot() }
        let started = Date()
        let probability = try judge.probability(w, after: after)
        prepared = (w, after, probability, prepared?.words == w ? prepared?.line : nil)
        return (probability, Date().timeIntervalSince(started))
    }

    /// The acknowledgement of normalized words `w` (after their judgement), and the seconds it
    /// took now (0: prepared before).
    private func acknowledgement(_ w: String) throws -> (String?, Double) {
        if let p = prepared, p.words == w, let line = p.line { return (line, 0) }
        let started = Date()
        let line = try acknowledgement(to: w) { [self] in isMoot(w) }
        if prepared?.words == w { prepared?.line = .some(line) }
        return (line, Date().timeIntervalSince(started))
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

    /// Runs `work` on the model's thread after the jobs asked before it (a test holds the model
    /// up with it, to see what the session does while the model writes).
    func afterJobsAsked(_ work: @escaping @Sendable () -> Void) { thread.async(work) }

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
    private func acknowledgement(to words: String, moot: () -> Bool) throws -> String? {
        let messages = [ChatMessage(.system, Self.acknowledgementSystem)] + Self.acknowledgementExamples
            + [ChatMessage(.user, WordsTurnEnd.normalize(words))]
        let line = try firstSentence(messages: messages, opening: Self.acknowledgementOpening, budget: 14, moot: moot)
        guard let line, Self.isAbout(line, request: words) else { return nil }
        return line
    }

    private func shortAnswer(to words: String) throws -> String? {
        let messages = [ChatMessage(.system, Self.answerSystem), ChatMessage(.user, WordsTurnEnd.normalize(words))]
        guard let line = try firstSentence(messages: messages, opening: "", budget: 40, moot: { false }), !Self.declines(line) else { return nil }
        return line
    }

    /// The model declines rather than answers ("I'm sorry, but as a text-based AI, I don't have
    /// the ability ..."): a small chat model tuned to refuse says so of much it could answer, and
    /// a device that says it is not answering anything.
    static func declines(_ line: String) -> Bool {
        let said = " " + WordsTurnEnd.normalize(line) + " "
        return Self.declining.contains { said.contains(" \($0) ") }
    }

    private static let declining = [
        "i'm sorry", "i am sorry", "ai", "assistant", "i don't have the ability", "i do not have the ability", "i can't",
        "i cannot", "i'm unable", "i am unable", "i don't have access", "i do not have access", "i can only",
    ]

    /// The reply's first sentence, `opening` given as its start; nil when no sentence ends within
    /// `budget` tokens (a line cut in the middle is not said). Stops and throws `Moot` as soon as
    /// `moot()` says the line is no longer wanted.
    private func firstSentence(messages: [ChatMessage], opening: String, budget: Int, moot: () -> Bool) throws -> String? {
        guard !moot() else { throw Moot() }
        var prompt = try generator.chatPrompt(messages, budget: budget + 16)
        if !opening.isEmpty { prompt += generator.tokenizer.encode(opening) }
        var options = Generator.Options()
        options.budget = budget
        let stop = Cancellation()
        var text = ""
        _ = try generator.generate(prompt: prompt, options: options, cancel: stop) { piece in
            text += piece
            if text.contains(where: { ".?!".contains($0) }) || moot() { stop.cancel() }
        }
        guard !moot() else { throw Moot() }
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
