import Foundation
import Logging
import MicroturnLink
import NIOCore
import PostgresNIO
import SwiftProtobuf

/// The task store in PostgreSQL, for several server instances serving one fleet: whichever
/// instance a device comes back to answers a repeated task from here, and when two instances run
/// one task (the first died mid-task, or was cut off), the first answer kept is the one every
/// copy carries.
public final class PostgresTaskStore: TaskStore {
    private let client: PostgresClient
    private let running: Task<Void, Never>

    /// Connects (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`) and makes the table if it is
    /// not there, giving up after `timeout` (the client's pool would otherwise retry forever).
    public init(url: String, log: Logger, timeout: Duration = .seconds(15)) async throws {
        guard let u = URLComponents(string: url), u.scheme == "postgres" || u.scheme == "postgresql", let host = u.host, let user = u.user else {
            throw TaskStoreError.badURL(url)
        }
        let database = u.path.hasPrefix("/") ? String(u.path.dropFirst()) : u.path
        client = PostgresClient(configuration: .init(host: host, port: u.port ?? 5432, username: user, password: u.password,
                                                     database: database.isEmpty ? nil : database, tls: .disable),
                                backgroundLogger: log)
        let client = self.client
        running = Task { await client.run() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await client.query("""
                        CREATE TABLE IF NOT EXISTS microturn_answer (
                            device TEXT NOT NULL, task TEXT NOT NULL, result BYTEA NOT NULL, saved_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                            PRIMARY KEY (device, task))
                        """)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw TaskStoreError.unreachable(url: Self.redacted(u), reason: "no connection within \(timeout)")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch let e as TaskStoreError {
            running.cancel()
            throw e
        } catch {
            running.cancel()
            throw TaskStoreError.unreachable(url: Self.redacted(u), reason: String(reflecting: error))
        }
    }

    deinit { running.cancel() }

    public func answer(device: String, task: String) async throws -> Microturn_Link_V1_Result? {
        let rows = try await client.query("SELECT result FROM microturn_answer WHERE device = \(device) AND task = \(task)")
        for try await bytes in rows.decode(ByteBuffer.self) { return try Self.result(bytes) }
        return nil
    }

    public func save(device: String, answer: Microturn_Link_V1_Result) async throws -> Microturn_Link_V1_Result {
        let bytes = ByteBuffer(data: try answer.serializedData())
        try await client.query("""
            INSERT INTO microturn_answer (device, task, result) VALUES (\(device), \(answer.taskID), \(bytes))
            ON CONFLICT (device, task) DO NOTHING
            """)
        return try await self.answer(device: device, task: answer.taskID) ?? answer
    }

    static func result(_ bytes: ByteBuffer) throws -> Microturn_Link_V1_Result {
        try Microturn_Link_V1_Result(serializedBytes: Data(bytes.readableBytesView))
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
