import Foundation
import GRDB
import MicroturnLink
import SwiftProtobuf

/// Where the server keeps each task's answer, by device and task id, so that a task is run once
/// even when its device comes back in a new session, or to a restarted server: a TASK seen again
/// is answered from here. One interface; SQLite in the server's state folder for one machine.
public protocol TaskStore: Sendable {
    func answer(device: String, task: String) throws -> Microturn_Link_V1_Result?
    func save(device: String, answer: Microturn_Link_V1_Result) throws
}

/// The task store in one SQLite file (WAL, synchronous writes: an answer saved survives a
/// crash of the server or of the machine).
public final class SQLiteTaskStore: TaskStore {
    private let db: DatabaseQueue

    /// `path` nil: in memory (tests, and a server run with no state folder).
    public init(path: String?) throws {
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        if let path {
            db = try DatabaseQueue(path: path, configuration: config)
            _ = try db.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA journal_mode = WAL") }
        } else {
            db = try DatabaseQueue(configuration: config)
        }
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS answer (
                    device TEXT NOT NULL, task TEXT NOT NULL, result BLOB NOT NULL, saved_at REAL NOT NULL,
                    PRIMARY KEY (device, task))
                """)
        }
    }

    public func answer(device: String, task: String) throws -> Microturn_Link_V1_Result? {
        try db.read { db in
            try Data.fetchOne(db, sql: "SELECT result FROM answer WHERE device = ? AND task = ?", arguments: [device, task])
        }.map { try Microturn_Link_V1_Result(serializedBytes: $0) }
    }

    public func save(device: String, answer: Microturn_Link_V1_Result) throws {
        let bytes: Data = try answer.serializedData()
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO answer (device, task, result, saved_at) VALUES (?, ?, ?, ?)",
                           arguments: [device, answer.taskID, bytes, Date().timeIntervalSince1970])
        }
    }
}
