/// What the device is playing: one state, so that "is the device speaking, and what" has one
/// answer. Replies answer a user turn (and a barge-in cuts them); a murmur ("mm-hm") and a spoken
/// count are cut the moment the user speaks. What a cut or a "pause" left unsaid is kept here too,
/// for "resume" and for going on after a backchannel.
struct Floor {
    enum Holder: Equatable {
        case idle
        case reply
        case murmur
        case count
        /// A translation said under the user's speech (`translation.over_user`): the user's
        /// speech neither cuts it nor waits for it; a reply of the device's own replaces it.
        case underUser
    }

    private(set) var holder = Holder.idle
    /// What "pause" kept for "resume" (nil: nothing paused).
    var paused: [Float]?
    /// What the last barge-in left unsaid.
    var cutShort: [Float] = []

    /// A reply is playing (or about to): the user talking over it is a barge-in.
    var replying: Bool { holder == .reply }
    var isIdle: Bool { holder == .idle }

    mutating func take(_ holder: Holder) { self.holder = holder }
    mutating func release() { holder = .idle }
}
