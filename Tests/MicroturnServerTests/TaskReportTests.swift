import Foundation
import MicroturnLink
@testable import MicroturnServer
import Synchronization
import Testing
import TestSupport

/// A task's life on the link: its PROGRESS goes to the device in the session's reliable stream, and
/// the device cutting the answer's playback (a PLAYBACK event with `cut`) cancels the running task.
@Suite(.ownThreads) struct TaskReportTests {
    final class Seen: Sendable {
        let started = Atomic<Bool>(false)
        let cancelled = Atomic<Bool>(false)
        let answers = Mutex<[String]>([])
    }

    static func wait(seconds: Double = 60, until done: () -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() && Date() < deadline { usleep(5_000) }
    }

    @Test func progressGoesOutAndACutPlaybackCancelsTheRunningTask() throws {
        let seen = Seen()
        let server = try LinkServer(port: 0, security: .plaintext) { job, report in
            report.progress("reasoning")
            seen.started.store(true, ordering: .relaxed)
            // Works until the device no longer wants the answer (or a minute passes: the test then fails).
            let deadline = Date().addingTimeInterval(60)
            while !report.cancellation.isCancelled && Date() < deadline { usleep(5_000) }
            seen.cancelled.store(report.cancellation.isCancelled, ordering: .relaxed)
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            return r
        }
        defer { server.shutdown() }
        let client = try LinkClient(options: .init(port: server.port, deviceId: "kiosk-c", credentials: nil, backoffFirstMs: 10, backoffMaxMs: 50)) { r in
            seen.answers.withLock { $0.append(r.taskID) }
        }
        client.start()
        defer { client.stop() }
        var task = Microturn_Link_V1_Task()
        task.taskID = "t-cut"
        task.transcript = "tell me a long story"
        try client.submit(.init(taskId: task.taskID, bodies: [.task(task)]))
        Self.wait { seen.started.load(ordering: .relaxed) }
        let started = seen.started.load(ordering: .relaxed)
        #expect(started)

        var cut = Microturn_Link_V1_Event()
        cut.kind = .playback
        cut.taskID = "t-cut"
        cut.cut = true
        cut.playedMs = 800
        try client.submit(.init(taskId: "playback-t-cut", bodies: [.event(cut)]))
        Self.wait { seen.answers.withLock { $0.contains("t-cut") } }
        let cancelled = seen.cancelled.load(ordering: .relaxed)
        #expect(cancelled, "the task saw its cancellation")
        // The session carried the PROGRESS frame before the answer without a hitch.
        #expect(seen.answers.withLock { $0 } == ["t-cut"])
    }

    @Test func aDeviceGoneStopsItsTasksAndNothingIsStored() throws {
        let seen = Seen()
        let store = try SQLiteTaskStore(path: nil)
        let server = try LinkServer(port: 0, security: .plaintext, store: store, deviceGoneAfter: .seconds(1)) { job, report in
            seen.started.store(true, ordering: .relaxed)
            Self.wait { report.cancellation.isCancelled }
            seen.cancelled.store(report.cancellation.isCancelled, ordering: .relaxed)
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            return r
        }
        defer { server.shutdown() }
        let client = try LinkClient(options: .init(port: server.port, deviceId: "kiosk-g", credentials: nil)) { _ in }
        client.start()
        var task = Microturn_Link_V1_Task()
        task.taskID = "t-gone"
        task.transcript = "what is the weather tomorrow"
        try client.submit(.init(taskId: task.taskID, bodies: [.task(task)]))
        Self.wait { seen.started.load(ordering: .relaxed) }
        // The device goes away for good; a second later (and the next sweep) the task stops.
        client.stop()
        Self.wait(seconds: 10) { server.sessions.running == 0 }
        #expect(seen.cancelled.load(ordering: .relaxed) && server.sessions.running == 0)
        // Not stored: if the device comes back and asks again, the task runs afresh.
        #expect(try store.answer(device: "kiosk-g", task: "t-gone") == nil)
    }

    @Test func aDeviceThatDoesNotAnswerAToolCallGivesAnErrorInTime() throws {
        let outcome = Mutex<ServerTools.Outcome?>(nil)
        let server = try LinkServer(port: 0, security: .plaintext) { job, report in
            let started = ContinuousClock.now
            let result = report.device?.run("device_time", arguments: "{}", timeout: .milliseconds(500))
            outcome.withLock { $0 = result }
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            r.text = "\((ContinuousClock.now - started).seconds)"
            return r
        }
        defer { server.shutdown() }
        // A device that offers its clock and never answers the call.
        var options = LinkClient.Options(port: server.port, deviceId: "kiosk-t", credentials: nil)
        options.capabilities += ["tool:time"]
        let calls = Mutex<[String]>([])
        let answers = Mutex<[String]>([])
        let client = try LinkClient(options: options, onToolCall: { c in calls.withLock { $0.append(c.name) } }) { r in
            answers.withLock { $0.append(r.text) }
        }
        client.start()
        defer { client.stop() }
        var task = Microturn_Link_V1_Task()
        task.taskID = "t-tool"
        task.transcript = "what time is it on you"
        try client.submit(.init(taskId: task.taskID, bodies: [.task(task)]))
        Self.wait { !answers.withLock { $0 }.isEmpty }
        #expect(calls.withLock { $0 } == ["device_time"])
        #expect(outcome.withLock { $0 }?.text.hasPrefix("error: the device did not answer within") == true)
        let took = Double(answers.withLock { $0.first } ?? "") ?? -1
        #expect(took >= 0.5 && took < 2, "\(took) s")
    }
}
