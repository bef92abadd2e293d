import Foundation
import Glibc
import MicroturnLink
import MicroturnServer
import Synchronization
import Testing
import TestSupport

/// A real server and client over TLS on loopback, the connection broken again and again while
/// tasks go up and answers come down: every task is answered, and each answer arrives once.
@Suite(.serialized, .ownThreads) struct LinkLoopbackTests {
    static func echoWorker(_ job: ServerSessions.Job, _ report: TaskReport) -> Microturn_Link_V1_Result {
        let task = job.task
        var r = Microturn_Link_V1_Result()
        r.taskID = task.taskID
        r.final = true
        r.text = "You said: \(task.transcript)"
        return r
    }

    /// Waits for a state (not a time), giving up after `seconds` only if it never comes.
    static func wait(seconds: Double = 60, until done: () -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() && Date() < deadline { usleep(5_000) }
    }

    @Test func everyTaskIsAnsweredOnceThroughBrokenConnections() throws {
        let fleet = try TestFleet(devices: ["kiosk-7"])
        defer { fleet.remove() }
        let server = try LinkServer(host: "localhost", port: 0, security: .tls(caDirectory: fleet.ca.directory), worker: Self.echoWorker)
        defer { server.shutdown() }
        let answers = Answers()
        let client = try LinkClient(options: .init(host: "localhost", port: server.port, deviceId: "kiosk-7", credentials: fleet.credentials("kiosk-7"),
                                                   backoffFirstMs: 10, backoffMaxMs: 50)) { r in
            answers.list.withLock { $0.append(r.taskID) }
        }
        client.start()
        defer { client.stop() }
        Self.wait { if case .up = client.status { true } else { false } }

        let tasks = 60
        var drops = 0
        for k in 0..<tasks {
            var t = Microturn_Link_V1_Task()
            t.taskID = "task-\(k)"
            t.transcript = "number \(k)"
            try client.submit(.init(taskId: t.taskID, bodies: [.task(t)]))
            // Break the connection after every seventh task, wherever the frames are then.
            if k % 7 == 3, client.dropConnection() { drops += 1 }
            usleep(2_000)
        }
        Self.wait { answers.list.withLock { $0.count } >= tasks }
        let got = answers.list.withLock { $0 }
        #expect(got.count == tasks, "\(got.count) answers of \(tasks)")
        #expect(Set(got).count == got.count, "an answer came twice")
        #expect(Set(got) == Set((0..<tasks).map { "task-\($0)" }))
        #expect(client.connections >= drops, "\(client.connections) connections for \(drops) breaks")
        #expect(server.sessions.count == 1, "every reconnect resumed the one session")
    }

    /// Answers as they come, from the client's thread. (A class: a Mutex captured straight into an
    /// escaping closure is not shared with the test.)
    final class Answers: Sendable {
        let list = Mutex<[String]>([])
    }

    @Test func aPlaintextServerListensOnLoopbackOnly() {
        #expect(throws: LinkServerError.self) { try LinkServer(host: "0.0.0.0", port: 0, security: .plaintext, worker: Self.echoWorker) }
    }
}

/// A server that accepts and then says nothing (a half-open link): the client gives up on the
/// connection after three missed heartbeats and connects again.
@Suite(.ownThreads) struct LinkHeartbeatTests {
    @Test func aSilentConnectionIsDroppedAndMadeAgain() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        #expect(listen(listener, 8) == 0)
        let port = Int(UInt16(bigEndian: addr.sin_port))  // the kernel completes connections into the backlog: nobody answers

        let client = try LinkClient(options: .init(port: port, deviceId: "kiosk-8", credentials: nil, backoffFirstMs: 10, backoffMaxMs: 50)) { _ in }
        client.start()
        defer { client.stop() }
        LinkLoopbackTests.wait { client.connections >= 2 }
        #expect(client.connections >= 2, "the silent connection was never given up")
        if case .up = client.status { Issue.record("up without a WELCOME") }
    }
}
