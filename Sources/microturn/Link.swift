import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnLink
import Synchronization

/// `microturn link`: the link to the background server, from the command line.
struct Link: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The link to microturn-server: ask it something, see how the link is.",
        subcommands: [Ask.self, Status.self])

    /// The link's settings: the config's [link] section, overridden by these flags.
    struct Settings: ParsableArguments {
        @OptionGroup var source: SettingsSource
        @Option(help: "HOST:PORT of microturn-server (link.server).") var server: String?
        @Option(name: .customLong("device-id"), help: "This device's id (link.device_id).") var deviceId: String?
        @Option(name: .customLong("dir"), help: "The link folder: credentials, outbox, status (link.directory).") var directory: String?
        @Flag(help: "No TLS, to a server on this machine only (link.plaintext).") var plaintext = false

        func load() throws -> MicroturnConfig.Link {
            var flags: [TOMLEntry] = []
            if let server { flags.append(.init(path: "link.server", value: .string(server), line: 0)) }
            if let deviceId { flags.append(.init(path: "link.device_id", value: .string(deviceId), line: 0)) }
            if let directory { flags.append(.init(path: "link.directory", value: .string(directory), line: 0)) }
            if plaintext { flags.append(.init(path: "link.plaintext", value: .bool(true), line: 0)) }
            return try source.load(flags: flags).link
        }
    }

    struct Ask: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a request to the background server and wait for its answer.",
            discussion: """
            The request (speech from --wav, and/or words from --text) is kept in the device's durable
            outbox until it is answered, like the requests of a running device: if this command is
            stopped or the link is down, `microturn link ask` with neither --wav nor --text later
            sends what is waiting and waits for the answers. Each answer is printed as a JSON line
            (or appended to --out, at most once per request, even across crashes).
            Exit codes: 0 every request answered; 69 some still wait when --timeout runs out.
            """)

        @OptionGroup var settings: Settings
        @Option(help: "Speech to send (WAV; any rate, mixed to mono).") var wav: String?
        @Option(help: "What the user said, as text (sent with the speech, or alone).") var text: String?
        @Option(help: "Append answers to this file (JSON lines) instead of printing them.") var out: String?
        @Option(help: "Seconds to wait for the answers.") var timeout: Double = 60

        func validate() throws { try FlagChecks.seconds(timeout, "--timeout") }

        func run() throws {
            try withExitCodes {
                let config = try settings.load()
                let answers = AnswerLog(path: out)
                let client = try LinkClient(options: try LinkClient.Options(config: config)) { answer in answers.deliver(answer) }
                answers.client = client
                client.start()
                defer { client.stop() }
                if wav != nil || text != nil {
                    var audio: [Float] = []
                    if let wav { audio = try Self.speech(wav) }
                    let taskId = "\(client.options.deviceId)-ask-\(UUID().uuidString.prefix(12))"
                    let bodies = try BackgroundRequests.request(taskId: taskId, audio: audio, transcript: text, endUs: MonotonicClock.now() / 1000,
                                                                encoder: try Opus.Encoder(settings: .init(link: config)))
                    try client.submit(.init(taskId: taskId, bodies: bodies))
                }
                let deadline = Date().addingTimeInterval(timeout)
                while client.outboxDepth > 0 && Date() < deadline { usleep(20_000) }
                let waiting = client.outboxDepth
                guard waiting == 0 else {
                    throw LinkWaitError(message: "\(waiting) request(s) still wait in the outbox (\(client.lastError ?? "no answer yet")); they go when the link is back: run microturn link ask again")
                }
            }
        }

        /// A WAV file as 16 kHz mono.
        static func speech(_ path: String) throws -> [Float] {
            let wav = try WavFile.read(path: path)
            let frames = wav.frameCount
            var mono = [Float](repeating: 0, count: frames)
            for i in 0..<frames {
                var sum: Float = 0
                for c in 0..<wav.channels { sum += wav.samples[i * wav.channels + c] }
                mono[i] = sum / Float(wav.channels)
            }
            var out: [Float] = []
            let resampler = try Resampler(from: wav.sampleRate, to: ProcessingFormat.sampleRate)
            mono.withUnsafeBufferPointer { resampler.process($0, appendingTo: &out) }
            return out
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Whether the device's link is up, since when, its round-trip time and outbox depth.",
            discussion: "Reads what the running device wrote (status.json in the link folder) and the outbox itself.")

        @OptionGroup var settings: Settings
        @Flag(help: "JSON instead of text.") var json = false

        func run() throws {
            try withExitCodes {
                let config = try settings.load()
                var status = try LinkStatus.read(from: LinkStatus.path(in: config.directory))
                let running = status.writerIsRunning
                if !running { status.up = false }
                let depth = try LinkOutbox(path: config.directory + "/outbox.sqlite").depth()
                if json {
                    var object = try JSONSerialization.jsonObject(with: status.json()) as? [String: Any] ?? [:]
                    object["outbox_depth"] = depth
                    object["running"] = running
                    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                    return
                }
                let since = ISO8601DateFormatter().string(from: status.since)
                print("link to \(status.server) as '\(status.deviceId)': \(status.up ? "UP" : "DOWN") since \(since)\(running ? "" : " (no device process is running: pid \(status.pid) is gone)")")
                if let rtt = status.rttMs { print("round trip: \(String(format: "%.1f", rtt)) ms") }
                if let session = status.session, status.up { print("session: \(session)") }
                print("outbox: \(depth) request(s) waiting for an answer")
                if let e = status.lastError, !status.up { print("last error: \(e)") }
            }
        }
    }
}

/// Requests still unanswered when `link ask` gives up waiting.
struct LinkWaitError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Where `link ask` hands answers on: stdout, or a file it appends to at most once per request
/// (an answer already in the file, from a run that crashed before marking it handed on, is not
/// written again).
final class AnswerLog: @unchecked Sendable {
    private let path: String?
    private let lock = Mutex(())
    /// Set once before the client starts; read on the link's thread.
    nonisolated(unsafe) var client: LinkClient?

    init(path: String?) { self.path = path }

    func deliver(_ answer: Microturn_Link_V1_Result) {
        // A part ahead of the answer: the final RESULT holds the whole of it.
        guard answer.final else { return }
        lock.withLock { _ in
            let object: [String: Any] = ["task": answer.taskID, "text": answer.text]
            let line = String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
            if let path {
                let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                let marker = "\"task\":\"\(answer.taskID)\""
                if !existing.contains(marker) {
                    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
                    if fd >= 0 {
                        _ = (line + "\n").withCString { write(fd, $0, strlen($0)) }
                        fsync(fd)
                        close(fd)
                    }
                }
            } else {
                print(line)
                fflush(nil)
            }
            client?.delivered(answer.taskID)
        }
    }
}
