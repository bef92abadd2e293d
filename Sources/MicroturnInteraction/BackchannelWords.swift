import MicroturnInference

/// Tells a listener's acknowledgement ("mm-hm", "yeah", "okay", "right") from an interruption by
/// its words: what the user says over the device while it talks. A backchannel lets the device go
/// on at full level; words that take the floor ("wait", "stop", "no", a question) stop it at once,
/// without waiting for the speech to last. Other words leave it to time, as without words: a
/// recognizer that mishears ("yeah" as "like that") must not stop the device for a backchannel.
public enum BackchannelWords {
    public enum Verdict: Sendable, Equatable {
        /// No words yet.
        case unknown
        /// The words so far (`words` of them) are acknowledgements, or the start of one ("uh" of
        /// "uh huh", "i" of "i see").
        case backchannel(words: Int)
        /// After any acknowledgement, the words open with one that takes the floor.
        case interruption
        /// Words that are neither.
        case other
    }

    /// The phrases a listener says to show they follow, as normalized words ("uh-huh" is "uh huh");
    /// repeats ("yeah yeah") and runs ("okay sure") of them are backchannels too.
    static let phrases: [[Substring]] = [
        "yeah", "yes", "yep", "yup", "yea", "okay", "ok", "right", "sure", "uh huh", "mm hmm",
        "mhm", "mm", "hmm", "hm", "i see", "got it", "gotcha", "alright", "all right", "cool", "great", "nice",
        "true", "exactly", "totally", "really", "oh", "ah", "aha", "wow", "good", "fine", "indeed", "of course",
    ].map { $0.split(separator: " ") }

    /// Words that open a bid for the floor: a halt, a correction, a question.
    static let takingTheFloor: Set<Substring> = [
        "wait", "stop", "hold", "hang", "no", "nope", "sorry", "excuse", "pardon", "but", "actually", "hey", "listen",
        "what", "why", "how", "where", "when", "who", "which",
    ]

    public static func verdict(_ words: String) -> Verdict {
        let tokens = WordsTurnEnd.normalize(words).split(separator: " ")
        guard !tokens.isEmpty else { return .unknown }
        var i = 0
        while i < tokens.count {
            let rest = tokens[i...]
            // A whole phrase here, or the last words are the start of one (its next word may come).
            if let p = phrases.first(where: { rest.starts(with: $0) }) {
                i += p.count
            } else if phrases.contains(where: { $0.count > rest.count && $0.starts(with: rest) }) {
                return .backchannel(words: tokens.count)
            } else {
                return takingTheFloor.contains(tokens[i]) ? .interruption : .other
            }
        }
        return .backchannel(words: tokens.count)
    }
}
