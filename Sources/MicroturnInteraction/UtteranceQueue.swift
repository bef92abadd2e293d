/// Something the device means to say that does not answer a turn: a spoken count, a murmur, and
/// (with the background tier) an answer that arrives later. A reply to a turn end is urgent and
/// starts on the frame the turn ends; these wait here for a micro-turn boundary.
public struct Utterance: Sendable, Equatable {
    public enum Kind: Int, Sendable, Comparable {
        case murmur
        case count
        /// The server's unasked remark (after a set): worth saying only soon.
        case interjection
        /// "Still looking that up.": a request's answer is slow to come.
        case progress
        /// Live translation: a segment's translation (or a sentence of it), said in the user's
        /// next pause; each is said, none replaced.
        case translation
        /// The background server's answer to an earlier request (or a sentence of it, as it
        /// streams): each is said, none replaced.
        case answer
        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
        /// A newer one makes an older one still waiting pointless (only the latest count matters).
        var replacesOlder: Bool { self != .answer && self != .translation }
    }

    /// What the user must be doing for it to start.
    public enum Condition: Sendable {
        /// Not speaking: a pause inside their turn will do (a murmur).
        case userSilent
        /// Not speaking and no turn of theirs waiting for its end (a count, an answer).
        case userDone
        /// Whatever the user is doing (a translation said under their speech).
        case any
    }

    public var text: String
    public var kind: Kind
    public var condition: Condition
    /// Capture sample after which it is not worth saying any more (a late count is no count).
    public var deadline: Int
    /// An answer's task, and where the server's own words start in `text` (after an introduction
    /// the device added): what the user heard of them is reported back.
    public var taskId: String?
    public var answerStart = 0
    /// The sentences of the same answer said before this one (heard, since this one is said).
    public var answerBefore = ""
    /// The server's speech of `text` (16 kHz), said instead of synthesizing it here.
    public var audio: [Float]?
    /// The espeak-ng voice to say `text` in, when not the device's own (a translation's language).
    public var voice: String?
    /// Played this much below the device's level (a translation under the user's speech).
    public var gainDb = 0.0

    public init(text: String, kind: Kind, condition: Condition, deadline: Int, taskId: String? = nil, answerStart: Int = 0,
                answerBefore: String = "") {
        self.text = text
        self.kind = kind
        self.condition = condition
        self.deadline = deadline
        self.taskId = taskId
        self.answerStart = answerStart
        self.answerBefore = answerBefore
    }
}

/// What the device should say next, and when: at a micro-turn boundary, when nothing else plays,
/// the most important utterance waiting whose condition holds (an answer, then a count, then a
/// murmur) starts; one whose deadline passes first is dropped with the reason. A newer count or
/// murmur replaces an older one still waiting (counts that come together: only the last is said);
/// answers wait their turn, oldest first.
public final class UtteranceQueue {
    public enum Outcome: Sendable, Equatable {
        case start(Utterance)
        case drop(Utterance, reason: String)
    }

    private var waiting: [Utterance] = []

    public init() {}

    public var isEmpty: Bool { waiting.isEmpty }

    /// Adds `u`; returns the utterance it replaced, if any.
    @discardableResult
    public func add(_ u: Utterance) -> Utterance? {
        let old = u.kind.replacesOlder ? waiting.firstIndex { $0.kind == u.kind }.map { waiting.remove(at: $0) } : nil
        waiting.append(u)
        return old
    }

    /// Drops what is still waiting and matches (a murmur once the user's turn is over, the rest of
    /// an answer the user talked over).
    public func removeAll(where drop: (Utterance) -> Bool) { waiting.removeAll(where: drop) }

    /// At the micro-turn boundary at capture sample `now`: what starts and what is dropped.
    /// `userSpeaking`: speech now; `userTurnOpen`: the user has spoken and their turn is not over.
    public func boundary(at now: Int, userSpeaking: Bool, userTurnOpen: Bool, deviceIdle: Bool) -> [Outcome] {
        func userAllows(_ u: Utterance) -> Bool {
            switch u.condition {
            case .userSilent: !userSpeaking
            case .userDone: !userSpeaking && !userTurnOpen
            case .any: true
            }
        }
        var outcomes: [Outcome] = []
        let ready = waiting.indices.filter { userAllows(waiting[$0]) }
        // The most important kind; among equals the one waiting longest (max keeps the first of equals).
        if deviceIdle, let best = ready.max(by: { waiting[$0].kind < waiting[$1].kind }) {
            outcomes.append(.start(waiting.remove(at: best)))
        }
        for u in waiting where u.deadline <= now {
            outcomes.append(.drop(u, reason: userAllows(u) ? "the device is speaking" : "the user is speaking"))
        }
        waiting.removeAll { $0.deadline <= now }
        return outcomes
    }
}
