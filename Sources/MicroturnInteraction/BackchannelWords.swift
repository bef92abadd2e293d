import MicroturnInference

/// Tells a listener's acknowledgement ("mm-hm", "yeah", "okay", "right") from an interruption by
/// its words: what the user says over the device while it talks. A backchannel lets the device go
/// on at full level; anything else ("wait", "stop", a question) takes the floor at once, without
/// waiting for the speech to last.
public enum BackchannelWords {
    public enum Verdict: Sendable, Equatable {
        /// No words yet: how long the speech lasts decides.
        case unknown
        /// The words so far (`words` of them) are acknowledgements, or the start of one ("uh" of
        /// "uh huh", "i" of "i see").
        case backchannel(words: Int)
        /// The words are something else.
        case interruption
    }

    /// The phrases a listener says to show they follow, as normalized words ("uh-huh" is "uh huh"); repeats ("yeah yeah") and runs
    /// ("okay sure") of them are backchannels too.
    static let phrases: [[Substring]] = [
        "yeah", "yes", "yep", "yup", "yea", "okay", "ok", "right", "sure", "uh huh", "mm hmm",
        "mhm", "mm", "hmm", "hm", "i see", "got it", "gotcha", "alright", "all right", "cool", "great", "nice",
        "true", "exactly", "totally", "really", "oh", "ah", "aha", "wow", "good", "fine", "indeed", "of course",
    ].map { $0.split(separator: " ") }

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
                return .interruption
            }
        }
        return .backchannel(words: tokens.count)
    }
}
