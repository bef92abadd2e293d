import ArgumentParser
import Foundation
import Logging
import MicroturnAudio
import MicroturnCore
import MicroturnLink
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
    @Option(help: "Who thinks about a task: builtin (our engine on reasoning.model), openai (an OpenAI-compatible server at reasoning.url), none (answer with what was heard) (reasoning.backend).")
    var backend: String?
    @Option(name: .customLong("reasoning-url"), help: "The OpenAI-compatible API root, http://HOST:PORT/v1 (reasoning.url).")
    var reasoningURL: String?
    @Option(help: "The kiosk's facts, a TOML file the model may search (reasoning.knowledge).")
    var knowledge: String?

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
        if let backend { flags.append(TOMLEntry(path: "reasoning.backend", value: .string(backend), line: 0)) }
        if let reasoningURL { flags.append(TOMLEntry(path: "reasoning.url", value: .string(reasoningURL), line: 0)) }
        if let knowledge { flags.append(TOMLEntry(path: "reasoning.knowledge", value: .string(knowledge), line: 0)) }
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
            let metrics = ServerMetrics()
            let (worker, events) = try Self.worker(c, store: store, metrics: metrics, log: log)
            let server = try LinkServer(host: host, port: port, threads: c.threads, security: security, store: store, metrics: metrics,
                                        log: log, events: events, offers: c.interjections ? [LinkCapabilities.interjections] : [], worker: worker)
            var endpoint: MetricsEndpoint?
            if let (mhost, mport) = Endpoint.parse(c.metricsListen) {
                endpoint = try MetricsEndpoint(host: mhost, port: mport, metrics: server.metrics, group: MultiThreadedEventLoopGroup.singleton)
                print("microturn-server: metrics on http://\(mhost):\(endpoint!.port)/metrics")
            }
            var audio: AudioEndpoint?
            if let (ahost, aport) = Endpoint.parse(c.audioListen) {
                let voice = SpeechSynthesizer.Voice(name: c.speechBackend == "builtin" ? c.speechVoice : "en-us", rateWpm: c.speechRateWpm)
                audio = try AudioEndpoint(host: ahost, port: aport, transcriber: try TranscribingWorker(model: c.pocketsphinxModel), voice: voice,
                                          group: MultiThreadedEventLoopGroup.singleton)
                print("microturn-server: transcription and speech (OpenAI-compatible) on http://\(ahost):\(audio!.port)/v1/audio/")
            }
            print("microturn-server: listening on \(host):\(server.port) (\(c.plaintext ? "PLAINTEXT, development only" : "TLS, fleet CA in \(c.caDirectory)"); tasks in \(c.postgres.isEmpty ? c.stateDirectory + "/tasks.sqlite" : "PostgreSQL"))")
            fflush(nil)  // the line above is what a supervisor or a test waits for
            let heartbeat = ServerHeartbeat()
            heartbeat?.start(server: server, listening: "\(host):\(server.port)", on: MultiThreadedEventLoopGroup.singleton.next())
            let service = LinkService(server: server, metrics: endpoint, audio: audio, drainSeconds: c.drainSeconds, heartbeat: heartbeat, log: log)
            let group = ServiceGroup(configuration: .init(services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint],
                                                         logger: log))
            try await group.run()
        }
    }
}

extension Serve {
    /// The task worker the settings ask for; a model or knowledge file that cannot be loaded is an
    /// error now, not at the first task.
    static func worker(_ c: ServerConfig, store: TaskStore, metrics: ServerMetrics, log: Logger) throws
        -> (LinkServer.Worker, LinkServer.EventObserver?) {
        let transcriber = try TranscribingWorker(model: c.pocketsphinxModel)
        let interjections: Interjections? = c.interjections ? Interjections(minimumGap: Duration.seconds(c.interjectionSeconds)) : nil
        if c.reasoningBackend == "none" {
            guard let interjections else { return (transcriber.answer, nil) }
            return (transcriber.answer, { device, event in interjections.observe(device, event) })
        }
        func builtin() throws -> BuiltinChatBackend {
            let path = modelPath(c.reasoningModel)
            guard FileManager.default.fileExists(atPath: path) else { throw ReasoningSetupError.modelMissing(path: path) }
            do { return try BuiltinChatBackend(path: path, threads: c.reasoningThreads) } catch {
                throw ReasoningSetupError.modelUnusable(path: path, reason: "\(error)")
            }
        }
        let backend: ChatBackend, fallback: ChatBackend?
        // One key for every OpenAI-compatible service (reasoning.api_key_env names its variable).
        let key = ProcessInfo.processInfo.environment[c.reasoningAPIKeyEnv] ?? ""
        if c.reasoningBackend == "openai" {
            backend = OpenAIChatBackend(baseURL: c.reasoningURL, model: c.reasoningRemoteModel, apiKey: key, streamsWithTools: c.reasoningStreamWithTools)
            fallback = c.reasoningFallback == "builtin" ? try builtin() : nil
        } else {
            backend = try builtin()
            fallback = nil
        }
        let knowledge = c.knowledgeFile.isEmpty ? nil : try KnowledgeFile(path: c.knowledgeFile)
        let tools = ServerTools(knowledge: knowledge, httpAllow: c.httpAllow, timeZone: c.timeZone.isEmpty ? .current : TimeZone(identifier: c.timeZone)!)
        var settings = Reasoner.Settings()
        settings.budget = .milliseconds(Int(c.reasoningSeconds * 1000))
        settings.options.maxTokens = c.reasoningMaxTokens
        let speech: SpeechStage? = switch c.speechBackend {
        case "builtin": try SpeechStage(voice: .init(name: c.speechVoice, rateWpm: c.speechRateWpm))
        case "openai": SpeechStage(remote: OpenAIAudio(baseURL: c.speechURL, model: c.speechModel, apiKey: key), voice: c.speechVoice)
        default: nil
        }
        let remoteTranscriber = c.transcriptionBackend == "openai" ? OpenAIAudio(baseURL: c.transcriptionURL, model: c.transcriptionModel, apiKey: key) : nil
        let worker = ReasoningWorker(transcriber: transcriber, remoteTranscriber: remoteTranscriber,
                                     reasoner: Reasoner(backend: backend, fallback: fallback, tools: tools, settings: settings),
                                     memory: ConversationMemory(store: store, characterBudget: c.memoryCharacters, log: log), speech: speech,
                                     metrics: metrics, log: log)
        log.info("reasoning with \(backend.name)\(fallback.map { ", falling back to \($0.name)" } ?? "")")
        return (worker.answer, { device, event in
            worker.observe(device, event)
            interjections?.observe(device, event)
        })
    }

    /// A relative model path: from the working folder, else from the checkout this binary was
    /// built in (CHECKOUT/.build/TRIPLE/CONFIG/microturn-server), so a developer's server finds
    /// models/ from anywhere.
    static func modelPath(_ path: String) -> String {
        guard !path.hasPrefix("/"), !FileManager.default.fileExists(atPath: path) else { return path }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            folder = folder.deletingLastPathComponent()
            let candidate = folder.appendingPathComponent(path).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return path
    }
}

/// The built-in reasoning model cannot be used.
enum ReasoningSetupError: Error, CustomStringConvertible {
    case modelMissing(path: String)
    case modelUnusable(path: String, reason: String)

    var sysexitsCode: Int32 {
        switch self {
        case .modelMissing: 66  // EX_NOINPUT
        case .modelUnusable: 65  // EX_DATAERR
        }
    }

    var description: String {
        switch self {
        case let .modelMissing(path):
            "the built-in reasoning model \(path) is not there; fetch it with tools/fetch-model.sh, set reasoning.model to a GGUF chat model, or use another reasoning.backend (openai, none)"
        case let .modelUnusable(path, reason):
            "the built-in reasoning model \(path) cannot be used: \(reason); set reasoning.model to a GGUF chat model this engine runs"
        }
    }
}

/// The link server as a service: runs until a graceful shutdown, then drains.
struct LinkService: Service {
    let server: LinkServer
    let metrics: MetricsEndpoint?
    let audio: AudioEndpoint?
    let drainSeconds: Double
    let heartbeat: ServerHeartbeat?
    let log: Logger

    func run() async throws {
        try? await gracefulShutdown()
        heartbeat?.stopping(draining: server.sessions.running)
        log.info("draining", metadata: ["running_tasks": "\(server.sessions.running)", "seconds": "\(drainSeconds)"])
        await server.drain(seconds: drainSeconds)
        metrics?.close()
        audio?.close()
        server.shutdown()
        log.info("stopped")
    }
}
