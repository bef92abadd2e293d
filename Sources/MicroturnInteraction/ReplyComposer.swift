/// The one place that decides what the device says. This device acknowledges each user
/// turn; local skills and background answers extend `reply(to:)` later.
public struct ReplyComposer: Sendable {
    public struct UserTurn: Sendable, Equatable {
        public var index: Int
        public var durationSeconds: Double
        /// The turn interrupted the device.
        public var interrupted: Bool
        public init(index: Int, durationSeconds: Double, interrupted: Bool) {
            self.index = index
            self.durationSeconds = durationSeconds
            self.interrupted = interrupted
        }
    }

    static let acknowledgements = [
        "Okay, I hear you. Go on.",
        "Got it. Tell me a little more.",
        "I see. That makes sense to me.",
        "Right, understood. What else?",
    ]
    static let afterInterruption = "Sorry, go ahead. I am listening."

    public init() {}

    public func reply(to turn: UserTurn) -> String {
        if turn.interrupted { return Self.afterInterruption }
        return Self.acknowledgements[turn.index % Self.acknowledgements.count]
    }
}
