import Foundation
import MicroturnCore
import Synchronization

/// Where a session's repetitions come from: a video file on the session's clock, or a live camera.
public protocol RepetitionSource: AnyObject {
    /// What has been counted (read by "how many reps"; its events by the session, to say them).
    var tally: RepetitionTally { get }
    /// Brings the count up to `time` seconds of the session's clock; a problem to report, once.
    func advance(to time: Double) -> VisionError?
}

extension VideoRepetitions: RepetitionSource {}

/// A live camera counted on its own thread, frames as they come (the camera reopened with backoff
/// if it vanishes); the session reads the tally.
public final class CameraRepetitions: RepetitionSource, Sendable {
    public let tally = RepetitionTally()
    private let state = State()
    /// Frames counted so far.
    public var frames: Int { state.fields.withLock { $0.frames } }
    /// Frames the driver dropped.
    public var droppedFrames: Int { state.fields.withLock { $0.dropped } }
    /// Times the camera came back after it was lost.
    public var reopenings: Int { state.fields.withLock { $0.reopenings } }
    /// The camera as opened: device, size, rate, format.
    public let description: String

    /// What the camera thread owns. (Unchecked: the feed, the counter and the recorder are not
    /// Sendable, and need not be: they are made here, handed whole to the one thread, and nothing
    /// else keeps a reference to them; the tally and the state are Sendable.)
    struct Work: @unchecked Sendable {
        let feed: CameraFeed, counter: RepetitionCounter, tally: RepetitionTally, state: State
        var recorder: Y4MWriter?
    }

    /// What the camera thread and the session share.
    final class State: Sendable {
        struct Fields {
            var problems: [VisionError] = []
            var stopping = false
            var done = false
            var frames = 0
            var dropped = 0
            var reopenings = 0
        }
        let fields = Mutex(Fields())
    }

    /// Opens the camera (which must be there) and starts counting; with `record`, the frames
    /// counted also go to that .y4m file, to be looked at or counted again offline.
    public init(name: String, record: String? = nil) throws(VisionError) {
        let state = self.state
        // 320x240 or the nearest size the camera has: the counter works on a 40x30 copy, and a
        // small picture costs the camera, the bus and the averaging less.
        let feed = try CameraFeed(name: name, width: 320, height: 240) { problem in state.fields.withLock { $0.problems.append(problem) } }
        description = feed.description ?? name
        // The camera thread owns the feed, the counter and the recorder from here on (only it
        // touches them).
        let rate = feed.frameRate ?? 30
        let recorder = try record.map { path throws(VisionError) in
            try Y4MWriter(path: path, fps: rate == rate.rounded() ? (Int(rate), 1) : (Int((rate * 1000).rounded()), 1000))
        }
        let work = Work(feed: feed, counter: RepetitionCounter(), tally: tally, state: state, recorder: recorder)
        Thread.start(named: "microturn-video") {
            var work = work
            while let frame = work.feed.next(shouldStop: { work.state.fields.withLock { $0.stopping } }) {
                do throws(VisionError) { try work.recorder?.write(frame) } catch {
                    work.state.fields.withLock { $0.problems.append(error) }
                    work.recorder = nil  // counting goes on without the recording
                }
                work.tally.record(work.counter.process(frame))
                let (dropped, reopenings) = (work.feed.droppedFrames, work.feed.reopenings)
                work.state.fields.withLock {
                    $0.frames += 1
                    $0.dropped = dropped
                    $0.reopenings = reopenings
                }
            }
            work.tally.record(work.counter.finish())
            work.state.fields.withLock { $0.done = true }
        }
    }

    deinit { stop() }

    /// Live: the camera keeps its own time; this only hands over a problem it met.
    public func advance(to time: Double) -> VisionError? {
        state.fields.withLock { $0.problems.isEmpty ? nil : $0.problems.removeFirst() }
    }

    /// Stops counting and waits for the camera thread to let go of the camera.
    public func stop() {
        state.fields.withLock { $0.stopping = true }
        while !state.fields.withLock({ $0.done }) { usleep(10_000) }
    }
}
