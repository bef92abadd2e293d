import MicroturnInference
import MicroturnLink

/// What a worker tells the device while a task runs (PROGRESS: the stage and how long the task has
/// run), and how it learns that the answer is no longer wanted.
public struct TaskReport: Sendable {
    public let taskID: String
    public let cancellation: Cancellation
    /// The tools of the task's device (nil: it has none, or the task runs outside a session).
    public let device: DeviceTools?
    let started = ContinuousClock.now
    public let send: @Sendable (LinkBody) -> Void

    init(job: ServerSessions.Job, sessions: ServerSessions) {
        taskID = job.task.taskID
        cancellation = job.cancellation
        let (id, task, cancellation) = (job.deviceId, job.task.taskID, job.cancellation)
        send = { [sessions] body in sessions.deliver(body, to: id) }
        let tools = DeviceTools(capabilities: job.capabilities) { [sessions] name, arguments, timeout in
            sessions.callDevice(id, taskID: task, name: name, arguments: arguments, timeout: timeout, cancellation: cancellation)
        }
        device = tools.definitions.isEmpty ? nil : tools
    }

    /// A report for a task run outside a link session (the benches and tests): what it would send
    /// goes to `send`, or nowhere.
    public init(taskID: String, cancellation: Cancellation = Cancellation(), device: DeviceTools? = nil,
                send: @escaping @Sendable (LinkBody) -> Void = { _ in }) {
        self.taskID = taskID
        self.cancellation = cancellation
        self.device = device
        self.send = send
    }

    /// The task enters `stage` ("transcribing", "reasoning", "speaking").
    public func progress(_ stage: String) {
        var p = Microturn_Link_V1_Progress()
        p.taskID = taskID
        p.stage = stage
        p.elapsedMs = UInt32(clamping: Int((ContinuousClock.now - started).seconds * 1000))
        send(.progress(p))
    }

    /// A sentence of the answer, ahead of the final RESULT (`part` counts from 0), so that the
    /// device says it while the rest is written.
    /// `audio`: the stream of its speech, sent ahead (empty: none).
    public func part(_ text: String, number: Int, audio: String = "") {
        var r = Microturn_Link_V1_Result()
        r.taskID = taskID
        r.part = UInt32(clamping: number)
        r.text = text
        r.audioStreamID = audio
        send(.result(r))
    }
}
