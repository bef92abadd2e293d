import Foundation
import GRDB
import SwiftProtobuf

/// The device's durable outbox (SQLite, `outbox.sqlite` in the link folder): every background
/// request is written here before it is sent and stays until its answer has come and been handed
/// to the user, so a request survives a lost link, a crash or a power cut, and an answer is handed
/// on once. Writes are synchronous (FULL): what `add` returned from is on the disk.
public final class LinkOutbox: Sendable {
    /// A request: its task id and its frames' bodies (the speech as AUDIO, then the TASK).
    public struct Request: Sendable {
        public var taskId: String
        public var bodies: [LinkBody]

        public init(taskId: String, bodies: [LinkBody]) {
            self.taskId = taskId
            self.bodies = bodies
        }
    }

    private let db: DatabaseQueue
    /// Answered and handed-on requests kept for a while (to drop a late duplicate), then pruned.
    static let keepDelivered = 1000

    /// `path` nil: in memory (nothing survives the process).
    public init(path: String?) throws(LinkSetupError) {
        do {
            var config = Configuration()
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            db = try path.map { try DatabaseQueue(path: $0, configuration: config) } ?? DatabaseQueue(configuration: config)
            if path != nil { _ = try db.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA journal_mode = WAL") } }
            try db.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS request (
                        n INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL UNIQUE, bodies BLOB NOT NULL,
                        created_at REAL NOT NULL, answer BLOB, delivered INTEGER NOT NULL DEFAULT 0)
                    """)
            }
        } catch {
            throw .unreadable(path: path ?? ":memory:", reason: "cannot open the outbox (\(error)); is link.directory writable?")
        }
    }

    /// Keeps a request until it is answered. A task id already here is left as it is.
    public func add(_ request: Request) throws {
        var blob = Data()
        for body in request.bodies {
            var frame = LinkFrame()
            frame.body = body
            blob.append(contentsOf: try FrameCodec.encode(frame))
        }
        try db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO request (task_id, bodies, created_at) VALUES (?, ?, ?)",
                           arguments: [request.taskId, blob, Date().timeIntervalSince1970])
        }
    }

    /// Requests not answered yet, oldest first.
    public func pending() throws -> [Request] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT task_id, bodies FROM request WHERE answer IS NULL ORDER BY n").map { row in
                var decoder = FrameCodec.Decoder()
                decoder.feed([UInt8](row["bodies"] as Data))
                var bodies: [LinkBody] = []
                while let frame = try decoder.next() { if let body = frame.body { bodies.append(body) } }
                return Request(taskId: row["task_id"], bodies: bodies)
            }
        }
    }

    /// Records an answer. False if the task already has one, or is not a request of this device
    /// (a duplicate: not to be handed on again).
    public func answered(_ result: Microturn_Link_V1_Result) throws -> Bool {
        let bytes: Data = try result.serializedData()
        return try db.write { db in
            try db.execute(sql: "UPDATE request SET answer = ? WHERE task_id = ? AND answer IS NULL", arguments: [bytes, result.taskID])
            return db.changesCount == 1
        }
    }

    /// Answers received and not yet handed to the user (after a crash, they are handed on again).
    public func undelivered() throws -> [Microturn_Link_V1_Result] {
        try db.read { db in
            try Data.fetchAll(db, sql: "SELECT answer FROM request WHERE answer IS NOT NULL AND delivered = 0 ORDER BY n")
        }.map { try Microturn_Link_V1_Result(serializedBytes: $0) }
    }

    /// The user has the answer: the request is done (and pruned in time).
    public func delivered(_ taskId: String) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE request SET delivered = 1 WHERE task_id = ?", arguments: [taskId])
            try db.execute(sql: """
                DELETE FROM request WHERE delivered = 1 AND n <= (SELECT n FROM request WHERE delivered = 1 ORDER BY n DESC LIMIT 1 OFFSET ?)
                """, arguments: [Self.keepDelivered])
        }
    }

    /// Every request kept (done ones until they are pruned), oldest first.
    public func taskIds() throws -> [String] {
        try db.read { try String.fetchAll($0, sql: "SELECT task_id FROM request ORDER BY n") }
    }

    /// Requests not done: waiting for their answer, or for it to be handed on.
    public func depth() throws -> Int {
        try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM request WHERE delivered = 0") ?? 0 }
    }
}
