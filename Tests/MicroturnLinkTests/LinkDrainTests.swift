import Foundation
import MicroturnLink
import MicroturnServer
import Synchronization
import Testing
import TestSupport

/// A server that drains (as on SIGTERM) with a task running: the device is told GOAWAY, the task
/// finishes and its answer reaches the device before the server closes.
@Suite(.ownThreads) struct LinkDrainTests {
    /// A worker that waits until the test lets it answer.
    final class Gate: Sendable {
        let started = Atomic<Bool>(false)
        let release = DispatchSemaphore(value: 0)
    }

    /// Waits for a state without holding a thread. The bound is far: on a loaded host a waiting
    /// test can be resumed minutes late, and each state waited for holds until the test moves on.
    static func waitAsync(seconds: Double = 600, until done: () -> Bool) async {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() && Date() < deadline { try? await Task.sleep(for: .milliseconds(5)) }
    }

    @Test func aDrainLetsTheRunningTaskAnswer() async throws {
        let fleet = try TestFleet(devices: ["kiosk-d"])
        defer { fleet.remove() }
        let gate = Gate()
        let server = try LinkServer(host: "localhost", port: 0, security: .tls(caDirectory: fleet.ca.directory)) { job, report in
            gate.started.store(true, ordering: .relaxed)
            gate.release.wait()  // on the server's worker thread
            return LinkLoopbackTests.echoWorker(job, report)
        }
        let answers = LinkLoopbackTests.Answers()
        let client = try LinkClient(options: .init(host: "localhost", port: server.port, deviceId: "kiosk-d", credentials: fleet.credentials("kiosk-d"))) { r in
            answers.list.withLock { $0.append(r.taskID) }
        }
        client.start()
        defer { client.stop() }
        var task = Microturn_Link_V1_Task()
        task.taskID = "t-drain"
        task.transcript = "are you still there"
        try client.submit(.init(taskId: task.taskID, bodies: [.task(task)]))
        await Self.waitAsync { gate.started.load(ordering: .relaxed) }  // the task runs

        // A drain that would outlast the test's waits: the server closes only after the task
        // answers, which the test allows only after it has seen the GOAWAY (on a loaded host a
        // 30 s drain ran out first, and the device's error was the closed connection's).
        let draining = Task { await server.drain(seconds: 900) }
        await Self.waitAsync { client.lastError?.contains("draining") == true }
        #expect(client.lastError?.contains("draining") == true, "the device was told GOAWAY")
        #expect(answers.list.withLock { $0.isEmpty })
        gate.release.signal()
        await draining.value
        #expect(answers.list.withLock { $0 } == ["t-drain"], "the running task's answer reached the device before the server closed")
        #expect(server.sessions.running == 0)
        server.shutdown()
    }

    @Test func theMetricsCountWhatHappened() throws {
        let metrics = ServerMetrics()
        let server = try LinkServer(port: 0, security: .plaintext, metrics: metrics, worker: LinkLoopbackTests.echoWorker)
        defer { server.shutdown() }
        let answers = LinkLoopbackTests.Answers()
        let client = try LinkClient(options: .init(port: server.port, deviceId: "kiosk-m", credentials: nil)) { r in
            answers.list.withLock { $0.append(r.taskID) }
        }
        client.start()
        defer { client.stop() }
        var task = Microturn_Link_V1_Task()
        task.taskID = "t-m"
        try client.submit(.init(taskId: task.taskID, bodies: [.task(task)]))
        LinkLoopbackTests.wait { !answers.list.withLock { $0.isEmpty } }
        let text = metrics.text()
        #expect(text.contains("microturn_link_sessions_opened_total 1"), "\(text)")
        #expect(text.contains("microturn_tasks_started_total 1"))
        #expect(text.contains("microturn_tasks_answered_total 1"))
        #expect(text.contains("microturn_link_connections 1.0"))
    }
}
