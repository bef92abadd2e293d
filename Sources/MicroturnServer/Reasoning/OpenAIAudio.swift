import AsyncHTTPClient
import Foundation
import MicroturnAudio
import MicroturnCore
import NIOCore
import NIOHTTP1

/// Transcription and speech behind an OpenAI-compatible server: `POST /audio/transcriptions`
/// (multipart form: the speech as a WAV `file`, `model`) and `POST /audio/speech` (JSON: `model`,
/// `input`, `voice`, `response_format` "wav"), under the API root `baseURL` (".../v1"). Like the
/// chat backend, what comes back is checked: a status that is not 200, a body that is not the JSON
/// or WAV asked for, or no answer in time is a `BackendFailure` with its reason.
public struct OpenAIAudio: Sendable {
    public let baseURL: String
    public let model: String
    let apiKey: String
    let client: HTTPClient
    /// One request's time, connection to the last byte.
    public var timeout: Duration = .seconds(15)
    /// Larger answers are refused (a minute of 16-bit 24 kHz speech is 2.9 MB).
    static let bodyLimit = 16 << 20

    public var name: String { baseURL }

    public init(baseURL: String, model: String, apiKey: String = "", client: HTTPClient = OpenAIChatBackend.client) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.model = model
        self.apiKey = apiKey
        self.client = client
    }

    /// The words in `pcm` (16 kHz mono).
    public func transcribe(_ pcm: [Float]) throws(BackendFailure) -> String {
        let boundary = "microturn-\(UUID().uuidString)"
        let wav = WavFile(sampleRate: ProcessingFormat.sampleRate, channels: 1, samples: pcm).encoded()
        let body = MultipartForm.encode(fields: [("model", model), ("response_format", "json")],
                                        file: (field: "file", filename: "speech.wav", contentType: "audio/wav", data: wav), boundary: boundary)
        let reply = try post("/audio/transcriptions", body: body, contentType: "multipart/form-data; boundary=\(boundary)")
        guard let object = (try? JSONSerialization.jsonObject(with: Data(reply))) as? [String: Any], let text = object["text"] as? String else {
            throw .malformed(backend: name, reason: "no \"text\" in \(ReplyAccumulator.excerpt(String(decoding: reply, as: UTF8.self)))")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `text` spoken in `voice`, at 16 kHz mono.
    public func speak(_ text: String, voice: String) throws(BackendFailure) -> [Float] {
        let json: [String: Any] = ["model": model, "input": text, "voice": voice, "response_format": "wav"]
        let body = (try? JSONSerialization.data(withJSONObject: json)) ?? Data()
        let reply = try post("/audio/speech", body: body, contentType: "application/json")
        do {
            let wav = try WavFile.parse(Data(reply), path: name + "/audio/speech")
            return try Resampler(from: wav.sampleRate, to: ProcessingFormat.sampleRate).process(wav.mono())
        } catch {
            throw .malformed(backend: name, reason: "the speech is not a WAV file we can read (\(error))")
        }
    }

    private func post(_ path: String, body: Data, contentType: String) throws(BackendFailure) -> [UInt8] {
        var headers: HTTPHeaders = ["content-type": contentType]
        if !apiKey.isEmpty { headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        let response: HTTPClient.Response
        do {
            let request = try HTTPClient.Request(url: baseURL + path, method: .POST, headers: headers, body: .data(body))
            response = try client.execute(request: request, deadline: .now() + .nanoseconds(Int64(timeout.seconds * 1e9))).wait()
        } catch {
            throw OpenAIChatBackend.failure(error, backend: name, timeout: timeout)
        }
        let bytes = response.body.map { Array($0.readableBytesView) } ?? []
        guard response.status == .ok else {
            throw .status(backend: name, code: Int(response.status.code), body: ReplyAccumulator.excerpt(String(decoding: bytes.prefix(2000), as: UTF8.self)))
        }
        guard bytes.count <= Self.bodyLimit else {
            throw .malformed(backend: name, reason: "an answer of \(bytes.count) bytes, over the \(Self.bodyLimit) allowed")
        }
        return bytes
    }
}
