import Foundation
import MicroturnAudio
import Testing
import TestSupport

@Suite(.ownThreads) struct WavAndResamplerTests {
    @Test func roundTripsSixteenBitAndMixesToMono() throws {
        let path = Fixtures.tempDir().appendingPathComponent("a.wav").path
        let stereo: [Float] = [0.5, -0.5, 0.25, 0.25, -1, 1]
        try WavFile(sampleRate: 44_100, channels: 2, samples: stereo).write(path: path)
        let back = try WavFile.read(path: path)
        #expect(back.sampleRate == 44_100 && back.channels == 2 && back.frameCount == 3)
        #expect(zip(back.samples, stereo).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(back.mono().map { ($0 * 1000).rounded() } == [0, 250, 0])
    }

    @Test func readsTwentyFourBitAndFloat() throws {
        func wav(tag: UInt16, bits: UInt16, body: [UInt8]) -> Data {
            var d = Data("RIFF".utf8)
            d.append(contentsOf: withUnsafeBytes(of: UInt32(36 + body.count).littleEndian, Array.init))
            d.append(contentsOf: Array("WAVEfmt ".utf8))
            let block = UInt16(bits / 8)
            for v in [UInt32(16)] { d.append(contentsOf: withUnsafeBytes(of: v.littleEndian, Array.init)) }
            for v in [tag, 1] { d.append(contentsOf: withUnsafeBytes(of: v.littleEndian, Array.init)) }
            for v in [UInt32(8000), UInt32(8000 * UInt32(block))] { d.append(contentsOf: withUnsafeBytes(of: v.littleEndian, Array.init)) }
            for v in [block, bits] { d.append(contentsOf: withUnsafeBytes(of: v.littleEndian, Array.init)) }
            d.append(contentsOf: Array("data".utf8))
            d.append(contentsOf: withUnsafeBytes(of: UInt32(body.count).littleEndian, Array.init))
            d.append(contentsOf: body)
            return d
        }
        let s24 = try WavFile.parse(wav(tag: 1, bits: 24, body: [0, 0, 0x40, 0, 0, 0xC0]), path: "x")
        #expect(s24.samples == [0.5, -0.5])
        let f32 = try WavFile.parse(wav(tag: 3, bits: 32, body: withUnsafeBytes(of: Float(0.75).bitPattern.littleEndian, Array.init)), path: "x")
        #expect(f32.samples == [0.75])
    }

    /// A data chunk that claims more than the file holds: what is there is read, with a warning
    /// that names the claim; a whole file has none.
    @Test func aDataChunkCutShortIsReadWithAWarning() throws {
        let whole = WavFile(sampleRate: 16_000, channels: 2, samples: (0..<200).map { Float($0 % 50) / 100 }).encoded()
        #expect(try WavFile.parse(whole, path: "x").warning == nil)
        let cut = whole.prefix(whole.count - 101)  // 25 frames and one byte less
        let read = try WavFile.parse(Data(cut), path: "x")
        #expect(read.frameCount == 74 && read.channels == 2)
        #expect(read.samples == Array(try WavFile.parse(whole, path: "x").samples.prefix(148)))
        let warning = try #require(read.warning)
        #expect(warning.contains("claims 400 bytes") && warning.contains("less than a frame"), "\(warning)")
    }

    @Test(arguments: [Data("hello, this is not audio".utf8), Data(), Data("RIFF\u{0}\u{0}\u{0}\u{0}WAVE".utf8)])
    func rejectsWhatIsNotAWav(data: Data) {
        #expect {
            try WavFile.parse(data, path: "bad.wav")
        } throws: { error in
            guard case .badWav(let path, _) = error as? AudioError else { return false }
            return path == "bad.wav"
        }
    }

    @Test func resamplerKeepsFrequencyAndLevel() throws {
        let r = try Resampler(from: 48_000, to: 16_000)
        let tone = (0..<48_000).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / 48_000)) }
        let out = r.process(tone)
        #expect(abs(out.count - 16_000) < 100)
        // Count zero crossings in the steady part: 1 kHz gives 2000 per second.
        let steady = Array(out[1000..<15_000])
        let crossings = zip(steady, steady.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(Double(crossings) / (14_000.0 / 16_000) - 2000) < 10)
        #expect(abs(Fixtures.rms(steady[...]) - 0.5 / 2.0.squareRoot()) < 0.02)
    }
}
