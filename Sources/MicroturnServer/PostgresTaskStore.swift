import Foundation
import Logging
import MicroturnLink
import NIOCore
import NIOPosix
import PostgresNIO
import SwiftProtobuf
import Synchronization

/// The task store in PostgreSQL, for several server instances serving one fleet: whichever
/// instance a device comes back to answers a repeated task from here, and when two instances run
/// one task (the first died mid-task, or was cut off), the first answer kept is the one every
/// copy carries. One connection, made again after it fails; calls block (on worker threads).
public final class PostgresTaskStore: TaskStore {
    private let configuration: PostgresConnection.Configuration
    private let location: String
    private let log: Logger
    private let connection = Mutex<PostgresConnection?>(nil)

    /// Connects (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, within `timeout`) and makes
    /// the table if it is not there.
    public init(url: String, log: Logger, timeout: TimeAmount = .seconds(10)) throws {
        guard let u = URLComponents(string: url), u.scheme == "postgres" || u.scheme == "postgresql", let host = u.host, let user = u.user else {
            throw TaskStoreError.badURL(url)
        }
        let database = u.path.hasPrefix("/") ? String(u.path.dropFirst()) : u.path
        var c = PostgresConnection.Configuration(host: host, port: u.port ?? 5432, username: user, password: u.password,
                                                 database: database.isEmpty ? nil : database, tls: .disable)
        c.options.connectTimeout = timeout
        configuration = c
        location = Self.redacted(u)
        self.log = log
        try run("""
            CREATE TABLE IF NOT EXISTS microturn_answer (
                device TEXT NOT NULL, task TEXT NOT NULL, result BYTEA NOT NULL, saved_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (device, task))
            """)
        try run("CREATE TABLE IF NOT EXISTS microturn_memory (device TEXT PRIMARY KEY, messages BYTEA NOT NULL, saved_at TIMESTAMPTZ NOT NULL DEFAULT now())")
    }

    deinit { _ = connection.withLock { try? $0?.close().wait() } }

    public func answer(device: String, task: String) throws -> Microturn_Link_V1_Result? {
        let rows = try run("SELECT result FROM microturn_answer WHERE device = \(device) AND task = \(task)")
        return try rows.first.map { try Microturn_Link_V1_Result(serializedBytes: Data(try $0.decode(ByteBuffer.self).readableBytesView)) }
    }

    public func save(device: String, answer: Microturn_Link_V1_Result) throws -> Microturn_Link_V1_Result {
        let bytes = ByteBuffer(data: try answer.serializedData())
        try run("""
            INSERT INTO microturn_answer (device, task, result) VALUES (\(device), \(answer.taskID), \(bytes))
            ON CONFLICT (device, task) DO NOTHING
            """)
        return try self.answer(device: device, task: answer.taskID) ?? answer
    }

    public func memory(device: String) throws -> Data? {
        try run("SELECT messages FROM microturn_memory WHERE device = \(device)").first.map { Data(try $0.decode(ByteBuffer.self).readableBytesView) }
    }

    public func saveMemory(device: String, _ data: Data) throws {
        let bytes = ByteBuffer(data: data)
        try run("""
            INSERT INTO microturn_memory (device, messages) VALUES (\(device), \(bytes))
            ON CONFLICT (device) DO UPDATE SET messages = EXCLUDED.messages, saved_at = now()
            """)
    }

    /// One query on the connection (made, or made again once after a failure).
    @discardableResult
    private func run(_ query: PostgresQuery) throws -> [PostgresRow] {
        try connection.withLock { c in
            for attempt in 0..<2 {
                do {
                    if c == nil || c!.isClosed {
                        c = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                                                          id: 1, logger: log).wait()
                    }
                    return try c!.query(query, logger: log).wait().rows
                } catch {
                    try? c?.close().wait()
                    c = nil
                    if attempt == 1 { throw TaskStoreError.unreachable(url: location, reason: String(describing: error)) }
                }
            }
            return []
        }
    }

    /// The URL with its password hidden, for messages.
    static func redacted(_ u: URLComponents) -> String {
        var r = u
        if r.password != nil { r.password = "***" }
        return r.string ?? "postgres://"
    }
}

public enum TaskStoreError: Error, CustomStringConvertible {
    case badURL(String)
    case unreachable(url: String, reason: String)

    public var description: String {
        switch self {
        case .badURL: "store.postgres must be postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
        case let .unreachable(url, reason): "cannot use the PostgreSQL task store at \(url): \(reason); is the server up and the user allowed?"
        }
    }
}
