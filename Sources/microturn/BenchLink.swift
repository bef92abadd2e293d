import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnLink

/// `microturn bench link`: the link's costs, each beside a peer.
struct BenchLink: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "The link: upstream bytes, resume time, server capacity.",
        subcommands: [BenchLinkBytes.self, BenchLinkResume.self, BenchLinkCapacity.self],
        defaultSubcommand: BenchLinkBytes.self)
}

struct BenchLinkBytes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bytes",
        abstract: "Upstream bytes per second of speech: Microturn's link beside JSON/base64 and Wyoming-style framing.",
        discussion: """
        The same speech (espeak-ng, several voices and sentences, with pauses) is encoded for real three ways
        and every byte counted:
          microturn  Opus at --bitrate, --packets 20 ms packets per AUDIO frame, through the link's reliability
                     layer and framing (PROTOCOL.md)
          json       OpenAI-Realtime-style: {"type":"input_audio_buffer.append","audio":BASE64} events of PCM16
                     at 24 kHz, in WebSocket frames (client to server, masked)
          wyoming    Home-Assistant-Wyoming-style: a JSON header line per audio-chunk, then raw PCM16 at 16 kHz
        Messages carry the same length of audio in all three. Each is also given with a TLS 1.3 record per
        message (+22 bytes: header, content type and AEAD tag), the same for all; TCP/IP headers are not
        counted. Ratios are peer / microturn.
        """)

    @Option(help: "Opus bitrate, bits per second (VBR).")
    var bitrate = 16_000

    @Option(help: "20 ms Opus packets per AUDIO frame (1-10); the peers' messages carry as much audio.")
    var packets = 3

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        try FlagChecks.integer(bitrate, "--bitrate", 6_000...64_000)
        try FlagChecks.integer(packets, "--packets", 1...10)
    }

    static let sentences = [
        "Could you remind me to call the dentist tomorrow morning at nine?",
        "What's the weather going to be like this weekend in the mountains?",
        "I was thinking that maybe we could go out for dinner on Friday.",
        "How many calories does a thirty minute run burn, roughly?",
        "Please add oat milk, eggs and two lemons to my shopping list.",
        "Tell me a short story about a lighthouse keeper and a cat.",
    ]
    static let voices = ["en-us", "en-us+f3", "en-gb+m4", "en-us+f2"]
    static let tlsRecord = 22

    func run() throws {
        try withExitCodes {
            let speech = try Self.material()
            let seconds = Double(speech.count) / Double(ProcessingFormat.sampleRate)
            let chunk = packets * Opus.frameSamples
            let ours = try microturnBytes(speech, chunk: chunk)
            let openAI = try Self.jsonBytes(speech, chunk: chunk)
            let wyoming = Self.wyomingBytes(speech, chunk: chunk)
            let rows = [("microturn", ours), ("json", openAI), ("wyoming", wyoming)]
            func rate(_ b: Int) -> Double { Double(b) / seconds / 1000 }
            if json {
                let parts = rows.map { name, r in
                    "\"\(name)\":{\"messages\":\(r.messages),\"kB_per_s\":\(Event.format(rate(r.bytes))),"
                        + "\"kB_per_s_with_tls\":\(Event.format(rate(r.bytes + r.messages * Self.tlsRecord)))}"
                }
                print("{\"speech_s\":\(Event.format(seconds)),\"bitrate\":\(bitrate),\"packets_per_frame\":\(packets),"
                      + parts.joined(separator: ",")
                      + ",\"ratio_json\":\(Event.format(Double(openAI.bytes) / Double(ours.bytes))),"
                      + "\"ratio_wyoming\":\(Event.format(Double(wyoming.bytes) / Double(ours.bytes)))}")
                return
            }
            print(String(format: "%.1f s of speech, %d ms per message, Opus %d b/s VBR", seconds, packets * 20, bitrate))
            print("                 messages    kB/s   kB/s with TLS   ratio (with TLS)")
            for (name, r) in rows {
                let tls = r.bytes + r.messages * Self.tlsRecord, oursTLS = ours.bytes + ours.messages * Self.tlsRecord
                print(name.padding(toLength: 12, withPad: " ", startingAt: 0)
                      + String(format: " %11d %7.2f %15.2f   %5.1f (%5.1f)", r.messages, rate(r.bytes), rate(tls),
                               Double(r.bytes) / Double(ours.bytes), Double(tls) / Double(oursTLS)))
            }
        }
    }

    /// Every sentence in every voice, 300 ms apart, 16 kHz mono, whole 20 ms frames.
    static func material() throws(AudioError) -> [Float] {
        var out: [Float] = []
        for (k, text) in sentences.enumerated() {
            let synth = try SpeechSynthesizer(voice: .init(name: voices[k % voices.count], rateWpm: 150 + 10 * k))
            out += try synth.synthesize(text).map { $0 * 0.5 } + [Float](repeating: 0, count: 4800)
        }
        return Array(out.prefix(out.count / Opus.frameSamples * Opus.frameSamples))
    }

    typealias Count = (bytes: Int, messages: Int)

    func microturnBytes(_ speech: [Float], chunk: Int) throws -> Count {
        let encoder = try Opus.Encoder(settings: .init(bitrate: bitrate))
        var channel = ReliableChannel(peerWindow: UInt64.max / 2)
        var count: Count = (0, 0)
        for (k, start) in stride(from: 0, to: speech.count, by: chunk).enumerated() {
            var audio = Microturn_Link_V1_Audio()
            audio.streamID = "u1"
            audio.captureTimeUs = UInt64(start) * 1_000_000 / UInt64(ProcessingFormat.sampleRate)
            audio.firstPacket = UInt32(k * packets)
            for f in stride(from: start, to: min(start + chunk, speech.count), by: Opus.frameSamples) {
                audio.opus.append(Data(try encoder.encode(speech[f..<f + Opus.frameSamples])))
            }
            audio.end = start + chunk >= speech.count
            guard let frame = channel.send(.audio(audio), now: UInt64(k)) else { throw LinkError.windowExceeded(seq: 0, limit: 0) }
            // The server's acks free the buffer as they would on a link.
            try channel.acknowledge(frame.seq)
            count.bytes += try FrameCodec.encode(frame).count
            count.messages += 1
        }
        return count
    }

    /// OpenAI-Realtime-style events: base64 PCM16 at 24 kHz in JSON, in masked WebSocket frames.
    static func jsonBytes(_ speech: [Float], chunk: Int) throws(AudioError) -> Count {
        let resampler = try Resampler(from: ProcessingFormat.sampleRate, to: 24_000)
        var count: Count = (0, 0)
        for (k, start) in stride(from: 0, to: speech.count, by: chunk).enumerated() {
            var pcm24: [Float] = []
            speech[start..<min(start + chunk, speech.count)].withUnsafeBufferPointer { resampler.process($0, appendingTo: &pcm24) }
            let bytes = pcm24.map(SampleConversion.int16).withUnsafeBytes { Data($0) }
            let event = "{\"event_id\":\"evt_\(String(format: "%06d", k))\",\"type\":\"input_audio_buffer.append\",\"audio\":\"\(bytes.base64EncodedString())\"}"
            let payload = event.utf8.count
            count.bytes += payload + webSocketHeader(payload)
            count.messages += 1
        }
        return count
    }

    /// A client-to-server WebSocket frame's header: 2 bytes, the extended length, the 4-byte mask.
    static func webSocketHeader(_ payload: Int) -> Int { 2 + (payload < 126 ? 0 : payload < 65_536 ? 2 : 8) + 4 }

    /// Wyoming-style: a JSONL header per audio-chunk, then the raw PCM16 at 16 kHz.
    static func wyomingBytes(_ speech: [Float], chunk: Int) -> Count {
        var count: Count = (0, 0)
        for start in stride(from: 0, to: speech.count, by: chunk) {
            let samples = min(chunk, speech.count - start)
            let ms = start * 1000 / ProcessingFormat.sampleRate
            let header = "{\"type\":\"audio-chunk\",\"data\":{\"rate\":16000,\"width\":2,\"channels\":1,\"timestamp\":\(ms)},\"payload_length\":\(samples * 2)}\n"
            count.bytes += header.utf8.count + samples * 2
            count.messages += 1
        }
        return count
    }
}
