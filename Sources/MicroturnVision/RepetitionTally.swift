import Synchronization

/// What the repetition counter has found, for whoever asks: the "how many reps" command, the
/// spoken counts, later a background-server tool call. Readable from any thread.
public final class RepetitionTally: Sendable {
    private struct State {
        var count = 0
        var setOpen = false
        var setsFinished = 0
        var unread: [RepetitionEvent] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Repetitions so far.
    public var total: Int { state.withLock { $0.count } }
    /// Whether a set is going on.
    public var inSet: Bool { state.withLock { $0.setOpen } }
    /// Sets that have ended.
    public var setsFinished: Int { state.withLock { $0.setsFinished } }

    /// The counter's news.
    public func record(_ events: [RepetitionEvent]) {
        guard !events.isEmpty else { return }
        state.withLock { s in
            for e in events {
                switch e {
                case let .repetition(number, _, _, _): s.count = number
                case .setStart: s.setOpen = true
                case .setEnd:
                    s.setOpen = false
                    s.setsFinished += 1
                }
            }
            s.unread += events
        }
    }

    /// The events since the last call (for the one reader that acts on each: the session).
    public func takeEvents() -> [RepetitionEvent] {
        state.withLock { s in
            defer { s.unread.removeAll() }
            return s.unread
        }
    }
}

/// A video file counted as a clock reaches its frames: a session on files, where the clip starts
/// with the capture (frame timestamps are seconds of the capture clock).
public final class VideoRepetitions {
    public let tally = RepetitionTally()
    public let path: String
    private let reader: Y4MReader
    private let counter = RepetitionCounter()
    private var waiting: GreyFrame?
    private var ended = false

    public init(path: String) throws(VisionError) {
        self.path = path
        reader = try Y4MReader(path: path)
    }

    /// Counts every frame up to `time` seconds. A damaged file ends the counting (what came before
    /// stays counted); its error is returned once.
    public func advance(to time: Double) -> VisionError? {
        while !ended {
            let frame: GreyFrame
            if let w = waiting {
                frame = w
            } else {
                do {
                    guard let f = try reader.next() else {
                        ended = true
                        tally.record(counter.finish())
                        return nil
                    }
                    frame = f
                } catch {
                    ended = true
                    tally.record(counter.finish())
                    return error
                }
            }
            guard frame.timestamp <= time else {
                waiting = frame
                return nil
            }
            waiting = nil
            tally.record(counter.process(frame))
        }
        return nil
    }
}
