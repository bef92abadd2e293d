/// Something that happened in a session, stamped in seconds of the capture clock.
public struct Event: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case speechStart = "speech_start"
        case speechEnd = "speech_end"
        case turnEnd = "turn_end"
        case replyStart = "reply_start"
        case playbackStart = "playback_start"
        case playbackStop = "playback_stop"
        case bargeIn = "barge_in"
        /// The duck a barge-in, or faint speech that may begin one, asked for is heard: the
        /// device's voice is 10 dB down from this sample on (latency, after a barge-in: from the
        /// start of the user's speech).
        case duck
        case xrun
        case deviceError = "device_error"
        /// A local command was recognized (text: the command; detail: its confidence).
        case command
        /// Speech that is not a local command, kept for the background server (text: transcript if any).
        case request
        /// The device goes on with what a backchannel cut short (or, ducked for faint speech that
        /// came to no barge-in, at full level again).
        case resume
        /// The device murmurs an acknowledgement ("mm-hm") in a pause of a long user turn.
        case backchannel
        /// The device counts a repetition aloud (text: what it says; detail "skipped: ..." when
        /// it held the count back because the user or the device was speaking).
        case count
        /// Something went wrong that the session carried on past (text: what, and what was done).
        case warning
        /// The background server's answer to a request, or a sentence of it, said now (text: what
        /// is said; detail: its task).
        case answer
        /// A request's answer is slow to come: the device says it is still on it (text: the line).
        case progress
        /// The background server had the device run a tool (text: its name; detail: the result).
        case tool
        /// An unasked remark of the server's, said now (text: the remark).
        case interjection
        /// Live translation: a segment's translation from the server, said now (text: what is
        /// said; detail: its task and language).
        case translation
        /// The link to the background server went down or came back (text: "offline" or
        /// "online"; detail: why it is down, when known).
        case link
    }

    public var time: Double
    public var kind: Kind
    public var text: String?
    /// For turn_end and playback_start of a reply: end of user speech to the first sample played.
    public var latency: Double?
    /// Free-form detail: the device of an xrun, the reason a playback stopped.
    public var detail: String?

    public init(time: Double, kind: Kind, text: String? = nil, latency: Double? = nil, detail: String? = nil) {
        self.time = time
        self.kind = kind
        self.text = text
        self.latency = latency
        self.detail = detail
    }

    /// One line of events.jsonl: `{"time":1.234,"type":"turn_end",...}`.
    public var jsonLine: String {
        var fields = ["\"time\":\(Self.format(time))", "\"type\":\"\(kind.rawValue)\""]
        if let text { fields.append("\"text\":\(JSONText.quote(text))") }
        if let latency { fields.append("\"latency_s\":\(Self.format(latency))") }
        if let detail { fields.append("\"detail\":\(JSONText.quote(detail))") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    public static func format(_ seconds: Double) -> String {
        let ms = (seconds * 1000).rounded()
        return String(ms / 1000)
    }
}

/// JSON string quoting, shared by every hand-written JSON line.
public enum JSONText {
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

extension Event {
    /// The user's speech in a run's events: each stretch from a speech start to its end.
    public static func userSpeech(in events: [Event]) -> [ClosedRange<Double>] {
        var spans: [ClosedRange<Double>] = [], start: Double?
        for e in events {
            if e.kind == .speechStart { start = e.time }
            if e.kind == .speechEnd, let s = start { spans.append(s...e.time); start = nil }
        }
        return spans
    }
}
