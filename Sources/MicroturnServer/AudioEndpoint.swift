import Foundation
import MicroturnAudio
import MicroturnCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// The server's built-in transcription (PocketSphinx) and speech (espeak-ng) for other servers of
/// a fleet, as an OpenAI-compatible API on `audio.listen`: `POST /v1/audio/transcriptions` (a
/// multipart form with a WAV `file`; answers `{"text": ...}`) and `POST /v1/audio/speech` (JSON
/// with `input` and `voice`, an espeak-ng voice, or the default for one it lacks such as "alloy";
/// answers 16 kHz 16-bit WAV). Their `transcription.url` / `speech.url` point here. The work runs on
/// threads of its own, never the event loop's; bad requests get a 4xx with a JSON error that says why.
public final class AudioEndpoint: Sendable {
    private let channel: Channel
    private let workers: NIOThreadPool
    public let port: Int
    /// Larger requests are refused (OpenAI's own limit for a file to transcribe).
    static let requestLimit = 25 << 20
    /// Longer texts to speak are refused (OpenAI's limit).
    static let inputLimit = 4096

    public init(host: String, port: Int, transcriber: TranscribingWorker, voice: SpeechSynthesizer.Voice, group: EventLoopGroup) throws {
        let workers = NIOThreadPool(numberOfThreads: 2)
        workers.start()
        let service = Service(transcriber: transcriber, voice: voice)
        do {
            channel = try HTTPListener.bind(host: host, port: port, group: group) { AudioHandler(service: service, workers: workers) }
        } catch {
            try? workers.syncShutdownGracefully()
            throw error
        }
        self.workers = workers
        self.port = channel.localAddress?.port ?? port
    }

    public func close() {
        try? channel.close().wait()
        try? workers.syncShutdownGracefully()
    }

    /// What a request gets: a status, a content type and a body.
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: Data

        static func error(_ status: HTTPResponseStatus, _ message: String) -> Response {
            let json = (try? JSONSerialization.data(withJSONObject: ["error": ["message": message, "type": "invalid_request_error"]])) ?? Data()
            return Response(status: status, contentType: "application/json", body: json)
        }
    }

    /// The work behind the two routes.
    struct Service: Sendable {
        let transcriber: TranscribingWorker
        let voice: SpeechSynthesizer.Voice

        func handle(method: HTTPMethod, path: String, contentType: String, body: Data) -> Response {
            guard method == .POST else { return .error(.methodNotAllowed, "use POST /v1/audio/transcriptions or POST /v1/audio/speech") }
            switch path.split(separator: "?").first.map(String.init) ?? "" {
            case "/v1/audio/transcriptions": return transcribe(contentType: contentType, body: body)
            case "/v1/audio/speech": return speak(body)
            default: return .error(.notFound, "no route \(path): use /v1/audio/transcriptions or /v1/audio/speech")
            }
        }

        func transcribe(contentType: String, body: Data) -> Response {
            guard let boundary = MultipartForm.boundary(contentType: contentType) else {
                return .error(.badRequest, "send a multipart/form-data body with a boundary, its audio in the field \"file\"")
            }
            let parts: [MultipartForm.Part]
            do { parts = try MultipartForm.parse(body, boundary: boundary) } catch { return .error(.badRequest, "the form: \(error)") }
            guard let file = parts.first(where: { $0.name == "file" }) else { return .error(.badRequest, "the form has no \"file\" field") }
            let pcm: [Float]
            do {
                let wav = try WavFile.parse(file.body, path: file.filename ?? "file")
                pcm = try Resampler(from: wav.sampleRate, to: ProcessingFormat.sampleRate).process(wav.mono())
            } catch {
                return .error(.badRequest, "the file is not a PCM WAV file this server reads (\(error)); send WAV")
            }
            do {
                let text = try transcriber.transcribe(pcm: pcm)
                return Response(status: .ok, contentType: "application/json", body: (try? JSONSerialization.data(withJSONObject: ["text": text])) ?? Data())
            } catch {
                return .error(.internalServerError, "transcription failed: \(error)")
            }
        }

        func speak(_ body: Data) -> Response {
            guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any], let input = object["input"] as? String,
                  !input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                return .error(.badRequest, "send JSON with \"input\", the text to speak")
            }
            guard input.count <= AudioEndpoint.inputLimit else { return .error(.badRequest, "\"input\" is over \(AudioEndpoint.inputLimit) characters") }
            if let format = object["response_format"] as? String, format != "wav" {
                return .error(.badRequest, "response_format \"\(format)\" is not offered here; ask for \"wav\"")
            }
            do {
                // A voice espeak-ng has, else this server's own (OpenAI's names mean nothing to it).
                let base = try SpeechSynthesizer(voice: voice)
                let asked = (object["voice"] as? String).flatMap { try? base.inVoice($0) }
                let samples = try (try? asked?.synthesize(input)) ?? base.synthesize(input)
                return Response(status: .ok, contentType: "audio/wav",
                                body: WavFile(sampleRate: ProcessingFormat.sampleRate, channels: 1, samples: samples).encoded())
            } catch {
                return .error(.internalServerError, "speech failed: \(error)")
            }
        }
    }
}

/// Reads one request (bounded), hands it to the workers, writes what they answer.
final class AudioHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let service: AudioEndpoint.Service
    private let workers: NIOThreadPool
    private var head: HTTPRequestHead?
    private var body = Data()
    private var tooLarge = false

    init(service: AudioEndpoint.Service, workers: NIOThreadPool) {
        self.service = service
        self.workers = workers
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(h):
            head = h
            body = Data()
            tooLarge = false
        case var .body(buffer):
            if body.count + buffer.readableBytes > AudioEndpoint.requestLimit { tooLarge = true }
            if !tooLarge, let bytes = buffer.readBytes(length: buffer.readableBytes) { body.append(contentsOf: bytes) }
        case .end:
            guard let head else { return }
            let (service, body, tooLarge) = (service, body, tooLarge)
            let contentType = head.headers["content-type"].first ?? ""
            let keepAlive = head.isKeepAlive
            self.body = Data()
            let loop = context.eventLoop
            let reply = workers.runIfActive(eventLoop: loop) { () -> AudioEndpoint.Response in
                tooLarge ? .error(.payloadTooLarge, "the request is over \(AudioEndpoint.requestLimit) bytes")
                    : service.handle(method: head.method, path: head.uri, contentType: contentType, body: body)
            }
            let bound = NIOLoopBound(context, eventLoop: loop)
            reply.whenComplete { result in
                let context = bound.value
                let response = (try? result.get()) ?? .error(.serviceUnavailable, "the server is shutting down")
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: response.contentType)
                headers.add(name: "Content-Length", value: "\(response.body.count)")
                if !keepAlive { headers.add(name: "Connection", value: "close") }
                context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
                context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
                    if !keepAlive { context.close(promise: nil) }
                }
            }
        }
    }
}
