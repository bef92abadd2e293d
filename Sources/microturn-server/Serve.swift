import ArgumentParser
import Foundation
import Logging
import MicroturnCore
import MicroturnServer
import NIOPosix
import ServiceLifecycle

/// `microturn-server serve`: the link server, its metrics endpoint, and a graceful drain.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve devices: admit them by certificate, run their tasks once, answer.",
        discussion: """
        Settings come from the built-in defaults, then --config FILE (TOML), then the flags below. Keys:
        \(ServerConfig.keys.map { "  \($0.path): \($0.allowed)" }.joined(separator: "\n"))

        The task store (tasks.sqlite in server.state_directory) keeps every answer, so a device that
        asks again (after its own restart or the server's) is answered without running the task twice.
        """)

    @Option(help: "A TOML config file.") var config: String?
    @Option(help: "HOST:PORT to listen on (server.listen).") var listen: String?
    @Option(name: .customLong("state-dir"), help: "The state folder (server.state_directory).") var stateDirectory: String?
    @Option(name: .customLong("ca-dir"), help: "The fleet CA folder (tls.ca_directory).") var caDirectory: String?
    @Flag(help: "No TLS, loopback only: for development (tls.plaintext).") var plaintext = false
    @Option(help: "HOST:PORT for GET /metrics, \"\" for none (metrics.listen).") var metrics: String?
    @Option(help: "A PostgreSQL task store shared with other instances, postgres://USER@HOST:PORT/DB (store.postgres).")
    var postgres: String?

    func settings() throws -> ServerConfig {
        var c = ServerConfig()
        if let config {
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw ConfigError.unreadable(file: config, reason: "no such file, or not UTF-8 text")
            }
            try c.apply(toml: text, file: config)
        }
        var flags: [TOMLEntry] = []
        if let listen { flags.append(TOMLEntry(path: "server.listen", value: .string(listen), line: 0)) }
        if let stateDirectory { flags.append(TOMLEntry(path: "server.state_directory", value: .string(stateDirectory), line: 0)) }
        if let caDirectory { flags.append(TOMLEntry(path: "tls.ca_directory", value: .string(caDirectory), line: 0)) }
        if plaintext { flags.append(TOMLEntry(path: "tls.plaintext", value: .bool(true), line: 0)) }
        if let metrics { flags.append(TOMLEntry(path: "metrics.listen", value: .string(metrics), line: 0)) }
        if let postgres { flags.append(TOMLEntry(path: "store.postgres", value: .string(postgres), line: 0)) }
        try SettingKey.apply(flags, keys: ServerConfig.keys, file: "command line", to: &c)
        try c.checkConsistent()
        return c
    }

    func run() async throws {
        try await withServerExitCodes {
            let c = try settings()
            LoggingSystem.bootstrap(StreamLogHandler.standardError)
            let log = Logger(label: "microturn-server")
            let (host, port) = Endpoint.parse(c.listen)!  // validated by the schema
            let security: LinkServer.Security = c.plaintext ? .plaintext : try .tls(caDirectory: c.caDirectory)
            let store: TaskStore
            if !c.postgres.isEmpty {
                store = try PostgresTaskStore(url: c.postgres, log: log)
            } else {
                do {
                    try FileManager.default.createDirectory(atPath: c.stateDirectory, withIntermediateDirectories: true)
                    store = try SQLiteTaskStore(path: c.stateDirectory + "/tasks.sqlite")
                } catch {
                    throw ConfigError.unreadable(file: c.stateDirectory + "/tasks.sqlite",
                                                 reason: "cannot open the task store (\(error)); choose a writable server.state_directory")
                }
            }
            let worker = try TranscribingWorker(model: c.pocketsphinxModel)
            let server = try LinkServer(host: host, port: port, threads: c.threads, security: security, store: store, log: log,
                                        worker: worker.answer)
            var endpoint: MetricsEndpoint?
            if let (mhost, mport) = Endpoint.parse(c.metricsListen) {
                endpoint = try MetricsEndpoint(host: mhost, port: mport, metrics: server.metrics, group: MultiThreadedEventLoopGroup.singleton)
                print("microturn-server: metrics on http://\(mhost):\(endpoint!.port)/metrics")
            }
            print("microturn-server: listening on \(host):\(server.port) (\(c.plaintext ? "PLAINTEXT, development only" : "TLS, fleet CA in \(c.caDirectory)"); tasks in \(c.postgres.isEmpty ? c.stateDirectory + "/tasks.sqlite" : "PostgreSQL"))")
            fflush(nil)  // the line above is what a supervisor or a test waits for
            let service = LinkService(server: server, metrics: endpoint, drainSeconds: c.drainSeconds, log: log)
            let group = ServiceGroup(configuration: .init(services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint],
                                                         logger: log))
            try await group.run()
        }
    }
}

/// The link server as a service: runs until a graceful shutdown, then drains.
struct LinkService: Service {
    let server: LinkServer
    let metrics: MetricsEndpoint?
    let drainSeconds: Double
    let log: Logger

    func run() async throws {
        try? await gracefulShutdown()
        log.info("draining", metadata: ["running_tasks": "\(server.sessions.running)", "seconds": "\(drainSeconds)"])
        await server.drain(seconds: drainSeconds)
        metrics?.close()
        server.shutdown()
        log.info("stopped")
    }
}
