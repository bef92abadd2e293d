import Foundation

/// What a running device's link is doing, as `microturn link status` shows it: written by the
/// link client to `status.json` in the link folder when the link comes up or goes down, and with
/// the round-trip time at most every 30 s (rarely: the folder may be on flash).
public struct LinkStatus: Codable, Sendable, Equatable {
    public var pid: Int32
    public var server: String
    public var deviceId: String
    public var up: Bool
    /// When the link came up or went down.
    public var since: Date
    public var session: String?
    public var rttMs: Double?
    public var lastError: String?
    public var updated: Date

    public static func path(in directory: String) -> String { directory + "/status.json" }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        e.keyEncodingStrategy = .convertToSnakeCase
        return e
    }()

    public func json() -> Data { (try? Self.encoder.encode(self)) ?? Data() }

    func write(to path: String) {
        try? DeviceProvisioning.writeAtomically(json(), to: path, mode: 0o644)
    }

    public static func read(from path: String) throws(LinkSetupError) -> LinkStatus {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .missing(path: path, hint: "no device has run the link with this folder yet (is link.server set, and is microturn running?)")
        }
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        d.keyDecodingStrategy = .convertFromSnakeCase
        do { return try d.decode(LinkStatus.self, from: data) } catch {
            throw .unreadable(path: path, reason: "not a link status file (\(error))")
        }
    }

    /// Whether the process that wrote it still runs.
    public var writerIsRunning: Bool { kill(pid, 0) == 0 || errno == EPERM }
}
