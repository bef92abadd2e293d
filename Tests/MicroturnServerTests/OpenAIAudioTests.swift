import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInference
import MicroturnLink
@testable import MicroturnServer
import NIOPosix
import Synchronization
import Testing
import TestSupport

/// The OpenAI-compatible audio backends (transcription, speech) against the server's own audio
/// endpoint on loopback, which serves PocketSphinx and espeak-ng in that API; and the form they
/// send files in.
@Suite(.ownThreads) struct OpenAIAudioTests {
    static func endpoint() throws -> (AudioEndpoint, TranscribingWorker) {
        let transcriber = try TranscribingWorker()
        let endpoint = try AudioEndpoint(host: "127.0.0.1", port: 0, transcriber: transcriber, voice: .init(),
                                         group: MultiThreadedEventLoopGroup.singleton)
        return (endpoint, transcriber)
    }

    @Test func aRemoteTranscriptionIsWhatTheServerHeard() throws {
        let (endpoint, transcriber) = try Self.endpoint()
        defer { endpoint.close() }
        let remote = OpenAIAudio(baseURL: "http://127.0.0.1:\(endpoint.port)/v1", model: "whisper-1")
        // As 16-bit WAV carries it, so that both paths hear the very same samples.
        let spoken = try FreshSpeech(voice: .init(name: "en-us", rateWpm: 160)).synthesize("Could you remind me to call the dentist tomorrow morning?")
        let pcm = try WavFile.parse(WavFile(sampleRate: 16_000, channels: 1, samples: spoken).encoded(), path: "speech").samples
        let text = try remote.transcribe(pcm)
        let local = try transcriber.transcribe(pcm: pcm)
        #expect(!text.isEmpty && text == local, "\(text) against \(local)")
    }

    @Test func remoteSpeechIsAWavOfTheText() throws {
        let (endpoint, _) = try Self.endpoint()
        defer { endpoint.close() }
        let remote = OpenAIAudio(baseURL: "http://127.0.0.1:\(endpoint.port)/v1", model: "tts-1")
        let speech = try remote.speak("The museum opens at nine.", voice: "alloy")  // a voice espeak-ng lacks: its own
        #expect((0.8...3.5).contains(Double(speech.count) / 16_000), "\(speech.count) samples")
        #expect(speech.map { abs($0) }.max() ?? 0 > 0.05)
        // Through the speech stage, as AUDIO frames for a device.
        var frames: [Microturn_Link_V1_Audio] = []
        let packets = try SpeechStage(remote: remote, voice: "alloy").speak("The museum opens at nine.", streamID: "t/0") { body in
            if case let .audio(a) = body { frames.append(a) }
        }
        // (A second rendering, in-process: its length varies by a few percent with what was said before.)
        let seconds = Double(packets * Opus.frameSamples) / 16_000
        #expect(packets == frames.map(\.opus.count).reduce(0, +) && frames.last?.end == true)
        #expect(abs(seconds - Double(speech.count) / 16_000) < 0.2, "\(seconds) s of Opus for \(speech.count) samples")
    }

    @Test func badRequestsGetAnErrorThatSaysWhy() throws {
        let (endpoint, _) = try Self.endpoint()
        defer { endpoint.close() }
        let url = "http://127.0.0.1:\(endpoint.port)/v1"
        do {
            _ = try OpenAIAudio(baseURL: url, model: "tts-1").speak(" ", voice: "alloy")
            Issue.record("no error")
        } catch { #expect(error.kind == "status" && "\(error)".contains("the text to speak"), "\(error)") }
        // A route that is not there; a server that is not there.
        do {
            _ = try OpenAIAudio(baseURL: url + "/nothing", model: "m").transcribe([0.1, 0.2])
            Issue.record("no error")
        } catch { #expect(error.kind == "status" && "\(error)".contains("404"), "\(error)") }
        do {
            _ = try OpenAIAudio(baseURL: "http://127.0.0.1:9/v1", model: "m").transcribe([0.1, 0.2])
            Issue.record("no error")
        } catch { #expect(error.kind == "unreachable", "\(error)") }
        // Not a WAV file in the form: refused with the reason.
        let form = MultipartForm.encode(fields: [("model", "m")], file: (field: "file", filename: "x.mp3", contentType: "audio/mpeg", data: Data("ID3...".utf8)),
                                        boundary: "b0")
        let answer = AudioEndpoint.Service(transcriber: try TranscribingWorker(), voice: .init())
            .handle(method: .POST, path: "/v1/audio/transcriptions", contentType: "multipart/form-data; boundary=b0", body: form)
        #expect(answer.status == .badRequest && String(decoding: answer.body, as: UTF8.self).contains("not a PCM WAV file"))
    }

    @Test func aTaskIsTranscribedLocallyWhenTheRemoteServiceFails() throws {
        let worker = ReasoningWorker(transcriber: try TranscribingWorker(),
                                     remoteTranscriber: OpenAIAudio(baseURL: "http://127.0.0.1:9/v1", model: "whisper-1"),
                                     reasoner: Reasoner(backend: OpenAIChatBackend(baseURL: "http://127.0.0.1:9/v1", model: "m")),
                                     memory: ConversationMemory(store: nil))
        let spoken = try FreshSpeech(voice: .init(name: "en-us", rateWpm: 160)).synthesize("Could you remind me to call the dentist tomorrow morning?")
        let encoder = try Opus.Encoder()
        let packets = try stride(from: 0, to: spoken.count - Opus.frameSamples, by: Opus.frameSamples).map {
            Data(try encoder.encode(spoken[$0..<$0 + Opus.frameSamples]))
        }
        let (text, failure) = worker.transcribe(packets)
        let local = try TranscribingWorker().transcribe(packets)
        #expect(!text.isEmpty && text == local, "\(text)")
        #expect(failure?.kind == "unreachable", "\(String(describing: failure))")
    }

    @Test func formsRoundTripAndBrokenOnesAreRefused() throws {
        let file = Data([0, 1, 2, 13, 10, 45, 45, 255])  // bytes that look like line ends and dashes
        let body = MultipartForm.encode(fields: [("model", "whisper-1"), ("language", "en")],
                                        file: (field: "file", filename: "a.wav", contentType: "audio/wav", data: file), boundary: "xyz")
        let parts = try MultipartForm.parse(body, boundary: "xyz")
        #expect(parts.map(\.name) == ["model", "language", "file"])
        #expect(parts[0].body == Data("whisper-1".utf8) && parts[2].body == file && parts[2].filename == "a.wav")
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"xyz\"") == "xyz")
        #expect(MultipartForm.boundary(contentType: "application/json") == nil)
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(body.prefix(body.count - 12), boundary: "xyz") }
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(Data("no boundary here".utf8), boundary: "xyz") }
        let nameless = Data("--xyz\r\nContent-Type: text/plain\r\n\r\nhi\r\n--xyz--\r\n".utf8)
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(nameless, boundary: "xyz") }
    }
}
