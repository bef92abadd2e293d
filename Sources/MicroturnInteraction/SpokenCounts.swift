import MicroturnCore
import MicroturnVision

/// Repetitions counted from a camera or a video file, turned into counts to say aloud as
/// `[reps]` asks (`announce`, `target`). A count waits for the next micro-turn boundary and is said
/// only if the user is quiet and nothing else plays then; otherwise it is skipped, with the reason
/// (a late count is no count).
final class SpokenCounts {
    let source: any RepetitionSource
    private let config: MicroturnConfig.Reps

    init(source: any RepetitionSource, config: MicroturnConfig.Reps) {
        self.source = source
        self.config = config
    }

    /// A set that ended: its count and how long each of its repetitions took, seconds.
    struct FinishedSet: Equatable {
        var count: Int
        var durations: [Double]
    }
    /// The repetitions of the set going on.
    private var durations: [Double] = []

    /// Brings the counter up to capture sample `now`: the counts to say (due by `nextBoundary`,
    /// in order; the queue keeps only the last), the sets that ended, and events for problems with
    /// the video.
    func advance(to now: Int, nextBoundary: Int) -> (counts: [Utterance], sets: [FinishedSet], notes: [Event]) {
        var notes: [Event] = []
        if let error = source.advance(to: ProcessingFormat.seconds(now)) {
            notes.append(Event(time: ProcessingFormat.seconds(now), kind: .deviceError, detail: "video: \(error)"))
        }
        var counts: [Utterance] = [], sets: [FinishedSet] = []
        for event in source.tally.takeEvents() {
            switch event {
            case .setStart:
                durations = []
            case let .repetition(number, start, end, _):
                durations.append(end - start)
                if let text = Self.announcement(number, config) {
                    counts.append(Utterance(text: text, kind: .count, condition: .userDone, deadline: nextBoundary))
                }
            case let .setEnd(_, count):
                sets.append(FinishedSet(count: count, durations: durations))
                durations = []
            }
        }
        return (counts, sets, notes)
    }

    /// The event for a count that was not said.
    static func skipped(_ u: Utterance, at time: Int, reason: String) -> Event {
        Event(time: ProcessingFormat.seconds(time), kind: .count, text: u.text, detail: "skipped: \(reason)")
    }

    /// What to say for repetition `number`, if anything.
    static func announcement(_ number: Int, _ reps: MicroturnConfig.Reps) -> String? {
        guard reps.announce != "off" else { return nil }
        if reps.target > 0 {
            if number == reps.target { return "\(number). Done." }
            if number == reps.target - 1 { return "Last one." }
            if reps.target >= 6 && number == reps.target / 2 { return "Halfway." }
        }
        return reps.announce == "every" || number % 5 == 0 ? "\(number)." : nil
    }
}
