import MicroturnInference
import MicroturnLink

/// What a worker tells the device while a task runs (PROGRESS: the stage and how long the task has
/// run), and how it learns that the answer is no longer wanted.
public struct TaskReport: Sendable {
    public let taskID: String
    public let cancellation: Cancellation
    let started = ContinuousClock.now
    let send: @Sendable (LinkBody) -> Void

    init(job: ServerSessions.Job, sessions: ServerSessions) {
        taskID = job.task.taskID
        cancellation = job.cancellation
        let device = job.deviceId
        send = { [sessions] body in sessions.deliver(body, to: device) }
    }

    /// A report that goes nowhere (a task run outside a link session, as the benches and tests do).
    public init(taskID: String, cancellation: Cancellation = Cancellation()) {
        self.taskID = taskID
        self.cancellation = cancellation
        send = { _ in }
    }

    /// The task enters `stage` ("transcribing", "reasoning", "speaking").
    public func progress(_ stage: String) {
        var p = Microturn_Link_V1_Progress()
        p.taskID = taskID
        p.stage = stage
        p.elapsedMs = UInt32(clamping: Int((ContinuousClock.now - started).seconds * 1000))
        send(.progress(p))
    }
}
