import Foundation
import MicroturnCore

/// The one place that decides what the device says and does after a user turn: local skills for
/// recognized commands, and a short acknowledgement for anything else (which is kept as a pending
/// request for the background server).
public struct ReplyComposer: Sendable {
    /// What the device murmurs in a long user turn's pause (`turn.backchannel`).
    public static let backchannel = "Mm-hm."
    public struct UserTurn: Sendable, Equatable {
        public var index: Int
        public var durationSeconds: Double
        /// The turn interrupted the device.
        public var interrupted: Bool
        /// The local command recognized in the turn, if any.
        public var command: String?
        /// What its words were, where they are known (`BackchannelWords`).
        public var words: BackchannelWords.Verdict
        public init(index: Int, durationSeconds: Double, interrupted: Bool, command: String? = nil,
                    words: BackchannelWords.Verdict = .unknown) {
            self.index = index
            self.durationSeconds = durationSeconds
            self.interrupted = interrupted
            self.command = command
            self.words = words
        }
        /// Only an acknowledgement: its words say so, or, without words, it was short.
        func isBackchannel(maxSeconds: Double) -> Bool {
            switch words {
            case .unknown, .other: durationSeconds < maxSeconds
            case .backchannel: true
            case .interruption: false
            }
        }
    }

    /// What the device knows when it answers.
    public struct Context: Sendable {
        public var lastReply: String?
        public var hasPausedSpeech: Bool
        /// The turn cut the device short, and what it was saying can still go on.
        public var hasCutSpeech: Bool
        /// Interruptions shorter than this (and not commands) are backchannels, "yeah", "okay", where
        /// their words are not known.
        public var backchannelMaxSeconds: Double
        public var now: Date
        public var repetitions: Int
        public init(lastReply: String? = nil, hasPausedSpeech: Bool = false, hasCutSpeech: Bool = false,
                    backchannelMaxSeconds: Double = 0.6, now: Date = Date(), repetitions: Int = 0) {
            self.lastReply = lastReply
            self.hasPausedSpeech = hasPausedSpeech
            self.hasCutSpeech = hasCutSpeech
            self.backchannelMaxSeconds = backchannelMaxSeconds
            self.now = now
            self.repetitions = repetitions
        }
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Drop what the device was saying (and anything paused).
        case halt
        /// Keep what the device was saying, to resume later.
        case pause
        case resume
        /// The user only acknowledged: go on from where the device was cut.
        case continueSpeaking
        case changeVolume(db: Double)
        /// Not a local command: keep the request for the background server.
        case delegate
        /// "Never mind": stop what is being said, and drop the answers still to come.
        case dropRequests
        /// "Translate to Spanish": from now on each segment of the user's speech goes to be
        /// translated (the language's code), and its translation is said in a pause.
        case translate(code: String)
        /// "Stop translating": back to answering; translations still to come are dropped.
        case stopTranslating
    }

    public struct Reply: Sendable, Equatable {
        public var text: String?
        public var action: Action
        public init(text: String?, action: Action) {
            self.text = text
            self.action = action
        }
    }

    static let acknowledgements = [
        "Okay, I hear you. Go on.",
        "Got it. Tell me a little more.",
        "I see. That makes sense to me.",
        "Right, understood. What else?",
    ]
    public static let afterInterruption = "Sorry, go ahead. I am listening."
    public static let volumeStepDb = 6.0

    public init() {}

    public func reply(to turn: UserTurn, context: Context = Context()) -> Reply {
        // Words that are only an acknowledgement are one, whatever the command grammar made of
        // them (it hears "yeah" as "repeat that" at times).
        if turn.interrupted && context.hasCutSpeech, case .backchannel = turn.words { return Reply(text: nil, action: .continueSpeaking) }
        switch turn.command {
        case "stop":
            return Reply(text: nil, action: .halt)
        case "pause":
            return Reply(text: nil, action: .pause)
        case "resume":
            return context.hasPausedSpeech ? Reply(text: nil, action: .resume)
                : Reply(text: "There is nothing to resume.", action: .none)
        case "repeat that":
            return Reply(text: context.lastReply ?? "I have not said anything yet.", action: .none)
        case "louder":
            return Reply(text: "Louder.", action: .changeVolume(db: Self.volumeStepDb))
        case "quieter":
            return Reply(text: "Quieter.", action: .changeVolume(db: -Self.volumeStepDb))
        case "what time is it":
            let parts = Calendar.current.dateComponents([.hour, .minute], from: context.now)
            let h = parts.hour ?? 0, m = parts.minute ?? 0
            let minutes = m == 0 ? "o'clock" : m < 10 ? "oh \(m)" : "\(m)"
            return Reply(text: "It is \(h % 12 == 0 ? 12 : h % 12) \(minutes) \(h < 12 ? "a m" : "p m").", action: .none)
        case "how many reps":
            let n = context.repetitions
            return Reply(text: n == 0 ? "No reps counted yet." : "\(n) \(n == 1 ? "rep" : "reps") so far.", action: .none)
        case "never mind", "forget it":
            return Reply(text: "Okay, never mind.", action: .dropRequests)
        case "help":
            return Reply(text: "You can say stop, pause, resume, repeat that, louder, quieter, what time is it, how many reps, never mind, "
                         + "or translate to Spanish, French or German.", action: .none)
        case TranslationLanguage.stopCommand:
            return Reply(text: "Translation off.", action: .stopTranslating)
        case let command? where TranslationLanguage.command(command) != nil:
            let language = TranslationLanguage.command(command)!
            return Reply(text: "Translating to \(language.name). Say stop translating to end.", action: .translate(code: language.code))
        case nil where turn.interrupted && context.hasCutSpeech && turn.isBackchannel(maxSeconds: context.backchannelMaxSeconds):
            return Reply(text: nil, action: .continueSpeaking)
        default:
            let text = turn.interrupted ? Self.afterInterruption : Self.acknowledgements[turn.index % Self.acknowledgements.count]
            return Reply(text: text, action: .delegate)
        }
    }
}
