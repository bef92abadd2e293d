import Foundation
import Logging
import MicroturnLink
import MicroturnServer
import MicroturnSimulation
import Testing
import TestSupport

/// A PostgreSQL server of Debian's, started by the test on loopback in a temporary folder (as
/// the postgres user when the test runs as root, since PostgreSQL refuses root).
final class PostgresServer {
    let root: String
    let port: Int
    let bin: String

    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.sorted().last else {
            throw PostgresServerError("PostgreSQL is not installed (apt-get install postgresql; tools/setup.sh --tests does)")
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        root = Scratch.directory.appendingPathComponent("pg-\(UUID().uuidString)").path
        port = ServerProcess.freePort()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        chdir("/")  // the postgres user may not enter the current folder
        if getuid() == 0, let pw = getpwnam("postgres") { chown(root, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        try run(bin + "/initdb", ["-D", root + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        try run(bin + "/pg_ctl", ["-D", root + "/data", "-l", root + "/log", "-w", "-t", "60",
                                 "-o", "-p \(port) -k \(root) -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
    }

    func stop() {
        try? run(bin + "/pg_ctl", ["-D", root + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Runs a tool to its end, as the postgres user when this is root (ChildProcess waits for
    /// the process itself: Foundation's Process would also wait for the daemon pg_ctl leaves,
    /// which keeps its descriptors).
    private func run(_ tool: String, _ args: [String]) throws {
        let r = getuid() == 0 ? try ChildProcess.run("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + args) : try ChildProcess.run(tool, args)
        guard r.status == 0 else { throw PostgresServerError("\(tool) \(args.joined(separator: " ")) failed (exit \(r.status)); see \(root)/log") }
    }
}

struct PostgresServerError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Two server instances on one PostgreSQL: the device's instance dies, its next request waits in
/// the outbox while nothing answers, the connections go to the other instance (as a load
/// balancer would send them), and the request is answered there, once. (Instances killed
/// mid-task are the fault suite's.)
@Suite(.serialized, .ownThreads) struct PostgresFailoverTests {
    @Test func theStoreKeepsTheFirstAnswerForEveryInstance() throws {
        let pg = try PostgresServer()
        defer { pg.stop() }
        let a = try PostgresTaskStore(url: pg.url, log: Logger(label: "a") { _ in SwiftLogNoOpLogHandler() })
        let b = try PostgresTaskStore(url: pg.url, log: Logger(label: "b") { _ in SwiftLogNoOpLogHandler() })
        var first = Microturn_Link_V1_Result()
        first.taskID = "t-1"
        first.final = true
        first.text = "from a"
        var second = first
        second.text = "from b"
        #expect(try b.answer(device: "d", task: "t-1") == nil)
        #expect(try a.save(device: "d", answer: first).text == "from a")
        #expect(try b.answer(device: "d", task: "t-1")?.text == "from a")
        #expect(try b.save(device: "d", answer: second).text == "from a", "the first answer kept is the one every copy carries")
        #expect(try a.answer(device: "other", task: "t-1") == nil, "tasks are per device")
        #expect(throws: TaskStoreError.self) { try PostgresTaskStore(url: "postgres://postgres@127.0.0.1:\(ServerProcess.freePort())/x", log: Logger(label: "c") { _ in SwiftLogNoOpLogHandler() }, timeout: .seconds(2)) }
    }

    @Test func aDeviceWhoseInstanceDiesIsAnsweredByAnother() throws {
        let pg = try PostgresServer()
        defer { pg.stop() }
        let root = Scratch.directory.appendingPathComponent("failover-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let ca = try FleetCA.create(directory: root + "/ca", name: "Failover CA", days: 30, serverNames: ["localhost"])
        let deviceDir = root + "/device"
        try ca.enroll(deviceDirectory: deviceDir, deviceId: "kiosk-p")
        let binaries = LinkFaultTests.binaries.path
        func instance(_ name: String) -> ServerProcess {
            let port = ServerProcess.freePort()
            return ServerProcess(directory: binaries, arguments: ["serve", "--ca-dir", ca.directory, "--listen", "127.0.0.1:\(port)",
                                                                  "--state-dir", root + "/" + name, "--postgres", pg.url, "--metrics", ""], port: port)
        }
        let (a, b) = (instance("a"), instance("b"))
        try a.start(log: root + "/a.log")
        try b.start(log: root + "/b.log")
        defer { a.stop(); b.stop() }
        let proxy = try ChaosProxy(target: a.port, seed: 1, odds: .none)
        defer { proxy.stop() }

        let answers = root + "/answers.jsonl"
        let device = LinkFaultTests.DeviceAsk(root: root, port: proxy.port, deviceId: "kiosk-p", directory: deviceDir, answers: answers)
        func ask(_ extra: [String]) throws -> Process { try device.start(extra, timeout: 60) }
        let first = try ask(["--text", "first question"])
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)

        // Instance a dies; the second request waits in the outbox; then the connections go to b.
        a.stop()
        let second = try ask(["--text", "second question"])
        let outbox = try LinkOutbox(path: deviceDir + "/outbox.sqlite")
        LinkLoopbackWait.until { (try? outbox.depth()) == 1 }
        proxy.retarget(b.port)
        second.waitUntilExit()
        #expect(second.terminationStatus == 0, "the request was answered by the other instance")

        let lines = ((try? String(contentsOfFile: answers, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.count == 2 && lines.allSatisfy { $0.contains("\"text\":\"") && !$0.contains("\"text\":\"\"") }, "\(lines)")
        // The device's conversation memory is in the shared store: b went on from a's exchange
        // (had it started afresh, only the second would be there).
        let memory = try PostgresTaskStore(url: pg.url, log: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }).memory(device: "kiosk-p")
        let remembered = try JSONDecoder().decode([Message].self, from: try #require(memory))
        #expect(remembered.map(\.content).filter { $0.hasSuffix("question") } == ["first question", "second question"], "\(remembered)")
        #expect(Set(try outbox.taskIds()).count == 2)
        #expect(try outbox.depth() == 0)
        let bLog = (try? String(contentsOfFile: root + "/b.log", encoding: .utf8)) ?? ""
        #expect(bLog.contains("kiosk-p"), "instance b served the device")
    }
}

/// Waits for a state (not a time), giving up after `seconds` only if it never comes.
enum LinkLoopbackWait {
    static func until(seconds: Double = 60, _ done: () -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() && Date() < deadline { usleep(5_000) }
    }
}
