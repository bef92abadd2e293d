import MicroturnAudio
import MicroturnCore
import Testing
import TestSupport

/// Real libopus: speech through the encoder and decoder keeps its shape at the link's bitrate,
/// and a lost packet is concealed or rebuilt from the next one's FEC.
@Suite(.ownThreads) struct OpusTests {
    static func speech() throws -> [Float] {
        let synth = FreshSpeech(voice: .init(name: "en-us", rateWpm: 160))
        let s = try synth.synthesize("Could you remind me to call the dentist tomorrow morning?").map { $0 * 0.5 }
        return Array(s.prefix(s.count / Opus.frameSamples * Opus.frameSamples))
    }

    /// Correlation of two signals after the codec's delay (searched over 0-40 ms).
    static func similarity(_ a: [Float], _ b: [Float]) -> Double {
        var best = 0.0
        for lag in 0..<640 {
            var ab = 0.0, aa = 0.0, bb = 0.0
            for i in 0..<(a.count - lag) {
                let x = Double(a[i]), y = Double(b[i + lag])
                ab += x * y; aa += x * x; bb += y * y
            }
            best = max(best, ab / max(1e-12, (aa * bb).squareRoot()))
        }
        return best
    }

    @Test func speechSurvivesTheCodecAtSixteenKilobits() throws {
        let input = try Self.speech()
        let enc = try Opus.Encoder(settings: .init(bitrate: 16_000))
        let dec = try Opus.Decoder()
        var bytes = 0, output: [Float] = []
        for start in stride(from: 0, to: input.count, by: Opus.frameSamples) {
            let packet = try enc.encode(input[start..<start + Opus.frameSamples])
            bytes += packet.count
            output += try dec.decode(packet)
        }
        let seconds = Double(input.count) / 16_000
        let kbps = Double(bytes * 8) / seconds / 1000
        #expect(kbps > 8 && kbps < 24, "\(kbps) kb/s")
        #expect(output.count == input.count)
        #expect(Self.similarity(input, output) > 0.8)
    }

    @Test func aLostPacketIsConcealedAndFECRebuildsIt() throws {
        let input = try Self.speech()
        let enc = try Opus.Encoder(settings: .init(bitrate: 24_000, inbandFEC: true, expectedLossPercent: 10))
        var packets: [[UInt8]] = []
        for start in stride(from: 0, to: input.count, by: Opus.frameSamples) {
            packets.append(try enc.encode(input[start..<start + Opus.frameSamples]))
        }
        // Every fifth packet is lost: decoded from the next one's FEC, or concealed without it.
        for useFEC in [true, false] {
            let dec = try Opus.Decoder()
            var output: [Float] = []
            for (k, p) in packets.enumerated() {
                if k % 5 == 2 {
                    output += try dec.conceal(next: useFEC && k + 1 < packets.count ? packets[k + 1] : nil)
                } else {
                    output += try dec.decode(p)
                }
            }
            #expect(output.count == input.count)
            #expect(Self.similarity(input, output) > (useFEC ? 0.6 : 0.4), "FEC \(useFEC)")
        }
        // Not a packet: an error, not a crash.
        #expect(throws: AudioError.self) { try Opus.Decoder().decode([]) }
        #expect(throws: AudioError.self) { try Opus.Encoder().encode([0, 0, 0][...]) }
    }
}
