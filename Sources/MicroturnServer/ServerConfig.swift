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
    /// Who transcribes a task's speech: "builtin" (PocketSphinx) or "openai" (an OpenAI-compatible
    /// `/audio/transcriptions` under `transcriptionURL`, PocketSphinx when it fails).
    public var transcriptionBackend = "builtin"
    public var transcriptionURL = ""
    public var transcriptionModel = "whisper-1"
    /// Serves the built-in transcription and speech as an OpenAI-compatible API for other servers
    /// (`POST /v1/audio/transcriptions`, `POST /v1/audio/speech`); "" for none.
    public var audioListen = ""
    /// Who thinks about a task: "builtin" (our engine on `reasoningModel`), "openai" (an
    /// OpenAI-compatible server at `reasoningURL`), or "none" (the answer is what was heard).
    public var reasoningBackend = "builtin"
    /// The built-in model (relative paths are looked for here, then in the checkout the binary was built in).
    public var reasoningModel = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    public var reasoningThreads = 1
    /// The OpenAI-compatible API root, e.g. http://127.0.0.1:8080/v1, and the model name it is asked for.
    public var reasoningURL = ""
    public var reasoningRemoteModel = "default"
    /// Whether requests that offer tools are streamed (false for servers that cannot, such as
    /// llama-cpp-python's function-calling chat format).
    public var reasoningStreamWithTools = true
    /// The environment variable that holds the API key (a key is never written in the config).
    public var reasoningAPIKeyEnv = "OPENAI_API_KEY"
    /// When the backend fails after its retries: "builtin" answers, or "none" (an honest short answer).
    public var reasoningFallback = "none"
    /// A task's whole reasoning, and a reply's length.
    public var reasoningSeconds = 25.0
    public var reasoningMaxTokens = 60
    /// The kiosk's facts (TOML strings) the model may search; "" for none.
    public var knowledgeFile = ""
    /// The pages the model may fetch with its http_get tool (URL prefixes); none by default.
    public var httpAllow: [String] = []
    /// The time zone the time tool answers in (an IANA name); "" for the system's.
    public var timeZone = ""
    /// Each device's remembered exchanges, in characters (about four a token).
    public var memoryCharacters = 2400
    /// Who speaks the answer for devices that ask the server to ("speech:opus16k"): "builtin"
    /// (espeak-ng, encoded to Opus), "openai" (an OpenAI-compatible `/audio/speech` under
    /// `speechURL`), or "none" (every device says the text itself).
    public var speechBackend = "builtin"
    public var speechURL = ""
    public var speechModel = "tts-1"
    /// The speech's voice: espeak-ng's for the built-in, the service's name for "openai" ("alloy").
    public var speechVoice = "en-us"
    public var speechRateWpm = 175
    /// Unasked remarks on what devices report (after a set of exercise), at most one per
    /// `interjectionSeconds` per device; only devices that take them get them.
    public var interjections = true
    public var interjectionSeconds = 60.0

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
        .string("transcription.backend", oneOf: ["builtin", "openai"], \.transcriptionBackend),
        .string("transcription.url", allowEmpty: true, \.transcriptionURL),
        .string("transcription.model", \.transcriptionModel),
        .endpoint("audio.listen", example: "127.0.0.1:7743", allowEmpty: true, \.audioListen),
        .string("reasoning.backend", oneOf: ["builtin", "openai", "none"], \.reasoningBackend),
        .path("reasoning.model", \.reasoningModel),
        .int("reasoning.threads", 1...64, \.reasoningThreads),
        .string("reasoning.url", allowEmpty: true, \.reasoningURL),
        .string("reasoning.remote_model", \.reasoningRemoteModel),
        .string("reasoning.api_key_env", \.reasoningAPIKeyEnv),
        .bool("reasoning.stream_with_tools", \.reasoningStreamWithTools),
        .string("reasoning.fallback", oneOf: ["builtin", "none"], \.reasoningFallback),
        .double("reasoning.seconds", 1...600, \.reasoningSeconds),
        .int("reasoning.max_tokens", 8...4096, \.reasoningMaxTokens),
        .path("reasoning.knowledge", \.knowledgeFile),
        .string("reasoning.time_zone", allowEmpty: true, \.timeZone),
        .urls("reasoning.http_allow", \.httpAllow),
        .int("reasoning.memory_characters", 0...100_000, \.memoryCharacters),
        .string("speech.backend", oneOf: ["builtin", "openai", "none"], \.speechBackend),
        .string("speech.url", allowEmpty: true, \.speechURL),
        .string("speech.model", \.speechModel),
        .string("speech.voice", \.speechVoice),
        .int("speech.rate_wpm", 80...450, \.speechRateWpm),
        .bool("interjections.enabled", \.interjections),
        .double("interjections.min_seconds", 0...86_400, \.interjectionSeconds),
    ]

    /// Applies a TOML document.
    public mutating func apply(toml text: String, file: String) throws(ConfigError) {
        try SettingKey.apply(SettingKey<ServerConfig>.parse(toml: text, file: file), keys: Self.keys, file: file, to: &self)
    }

    /// Settings that are each allowed but not together.
    public func checkConsistent() throws(ConfigError) {
        for (section, backend, url) in [("reasoning", reasoningBackend, reasoningURL), ("transcription", transcriptionBackend, transcriptionURL),
                                        ("speech", speechBackend, speechURL)] where backend == "openai" {
            guard let u = URLComponents(string: url), u.scheme == "http" || u.scheme == "https", u.host != nil else {
                throw .contradiction(first: "\(section).backend", second: "\(section).url",
                                     reason: "the openai backend needs \(section).url, the API root of an OpenAI-compatible server (http://HOST:PORT/v1), not '\(url)'")
            }
        }
        if !timeZone.isEmpty && TimeZone(identifier: timeZone) == nil {
            throw .contradiction(first: "reasoning.time_zone", second: "reasoning.time_zone",
                                 reason: "'\(timeZone)' is not a time zone name; use an IANA name such as Europe/Madrid, or \"\" for the system's")
        }
        if plaintext, let (host, _) = Endpoint.parse(listen), !Endpoint.isLoopback(host) {
            throw .contradiction(first: "tls.plaintext", second: "server.listen",
                                 reason: "a plaintext server is for development on this machine only, not on \(host); listen on 127.0.0.1 or make a CA (microturn-server ca init)")
        }
    }
}
