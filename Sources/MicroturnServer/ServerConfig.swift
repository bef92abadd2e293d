import Foundation
import MicroturnAudio
import MicroturnCore

/// microturn-server's settings: built-in defaults, then a TOML file (`--config`), then flags.
/// Validated like the device's config: an unknown key or a value out of range names the file,
/// line, key and what is allowed.
public struct ServerConfig: Sendable, Equatable {
    /// Where devices connect.
    public var listen = "0.0.0.0:7741"
    public var threads = 1
    /// The task store (tasks.sqlite) lives here.
    public var stateDirectory = "/var/lib/microturn-server"
    /// On SIGTERM: how long running tasks may take to finish before the server closes.
    public var drainSeconds = 10.0
    /// The fleet CA folder (`microturn-server ca init`): ca.pem, server.pem, server.key, revoked.tsv.
    public var caDirectory = "/etc/microturn-server/ca"
    /// No TLS: for development on this machine only.
    public var plaintext = false
    /// A PostgreSQL task store shared by several instances (postgres://USER@HOST:PORT/DB); ""
    /// keeps tasks in SQLite in the state folder.
    public var postgres = ""
    /// Prometheus metrics (`GET /metrics`); "" for none.
    public var metricsListen = "127.0.0.1:9741"
    /// The built-in transcriber's PocketSphinx model.
    public var pocketsphinxModel = CommandRecognizer.defaultModel

    public init() {}

    public static let keys: [SettingKey<ServerConfig>] = [
        .endpoint("server.listen", example: "0.0.0.0:7741", allowEmpty: false, \.listen),
        .int("server.threads", 1...64, \.threads),
        .path("server.state_directory", \.stateDirectory),
        .double("server.drain_seconds", 0...600, \.drainSeconds),
        .path("store.postgres", \.postgres),
        .path("tls.ca_directory", \.caDirectory),
        .bool("tls.plaintext", \.plaintext),
        .endpoint("metrics.listen", example: "127.0.0.1:9741", allowEmpty: true, \.metricsListen),
        .path("transcription.pocketsphinx_model", \.pocketsphinxModel),
    ]

    /// Applies a TOML document.
    public mutating func apply(toml text: String, file: String) throws(ConfigError) {
        try SettingKey.apply(SettingKey<ServerConfig>.parse(toml: text, file: file), keys: Self.keys, file: file, to: &self)
    }

    /// Settings that are each allowed but not together.
    public func checkConsistent() throws(ConfigError) {
        if plaintext, let (host, _) = Endpoint.parse(listen), !Endpoint.isLoopback(host) {
            throw .contradiction(first: "tls.plaintext", second: "server.listen",
                                 reason: "a plaintext server is for development on this machine only, not on \(host); listen on 127.0.0.1 or make a CA (microturn-server ca init)")
        }
    }
}
