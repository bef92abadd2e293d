import Foundation
import GRDB
import MicroturnLink
import SwiftProtobuf

/// Where the server keeps each task's answer, by device and task id, so that a task is run once
/// even when its device comes back in a new session, to a restarted server or to another
/// instance: a TASK seen again is answered from here. One interface: SQLite in the server's state
/// folder for one machine, PostgreSQL for several instances serving one fleet. Its calls block;
/// they are made on the server's worker threads, never on an event loop nor on Swift's
/// cooperative threads (which a blocked caller elsewhere in the process could starve).
public protocol TaskStore: Sendable {
    func answer(device: String, task: String) throws -> Microturn_Link_V1_Result?
    /// Keeps the answer; if one was kept already (another instance ran the task too), that one
    /// stays and is returned, so every copy the device gets is the same.
    func save(device: String, answer: Microturn_Link_V1_Result) throws -> Microturn_Link_V1_Result
    /// The device's conversation memory (`ConversationMemory`'s encoding), kept with the task state
    /// so that a follow-up question still has its context after a restart or on another instance.
    func memory(device: String) throws -> Data?
    func saveMemory(device: String, _ data: Data) throws
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
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS memory (device TEXT PRIMARY KEY, messages BLOB NOT NULL, saved_at REAL NOT NULL)")
        }
    }

    public func memory(device: String) throws -> Data? {
        try db.read { try Data.fetchOne($0, sql: "SELECT messages FROM memory WHERE device = ?", arguments: [device]) }
    }

    public func saveMemory(device: String, _ data: Data) throws {
        try db.write {
            try $0.execute(sql: "INSERT OR REPLACE INTO memory (device, messages, saved_at) VALUES (?, ?, ?)",
                           arguments: [device, data, Date().timeIntervalSince1970])
        }
    }

    public func answer(device: String, task: String) throws -> Microturn_Link_V1_Result? {
        try db.read { db in
            try Data.fetchOne(db, sql: "SELECT result FROM answer WHERE device = ? AND task = ?", arguments: [device, task])
        }.map { try Microturn_Link_V1_Result(serializedBytes: $0) }
    }

    public func save(device: String, answer: Microturn_Link_V1_Result) throws -> Microturn_Link_V1_Result {
        let bytes: Data = try answer.serializedData()
        let kept = try db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO answer (device, task, result, saved_at) VALUES (?, ?, ?, ?)",
                           arguments: [device, answer.taskID, bytes, Date().timeIntervalSince1970])
            return try Data.fetchOne(db, sql: "SELECT result FROM answer WHERE device = ? AND task = ?", arguments: [device, answer.taskID])
        }
        return try kept.map { try Microturn_Link_V1_Result(serializedBytes: $0) } ?? answer
    }
}
