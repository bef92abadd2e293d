import CAlsa
import Foundation
import Glibc
import MicroturnAudio
import Testing
import TestSupport

/// Real alsa-lib, on virtual PCMs (the `file` plugin over a `null` slave) built in memory.
@Suite(.ownThreads) struct AlsaPCMTests {
    let request = AlsaPCM.Request(rate: 48_000, channels: 2, formats: [.s16], periodMs: 10, bufferPeriods: 3)

    func pattern(bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 251) } }

    @Test func captureIsByteExact() throws {
        let dir = Fixtures.tempDir()
        let raw = dir.appendingPathComponent("in.raw").path
        let data = pattern(bytes: 48_000 * 4)  // one second of S16 stereo
        #expect(FileManager.default.createFile(atPath: raw, contents: Data(data)))
        let pcm = try AlsaPCM(name: "t_cap", direction: .capture, request: request,
                              definition: VirtualPCM.captureDefinition(name: "t_cap", rawInput: raw))
        #expect(pcm.parameters.rate == 48_000 && pcm.parameters.channels == 2 && pcm.parameters.format == .s16)
        #expect(pcm.parameters.periodFrames == 480)
        var got = [UInt8](repeating: 0, count: data.count)
        try got.withUnsafeMutableBytes { buf in
            for k in 0..<100 {
                try pcm.read(into: buf.baseAddress! + k * 480 * 4, frames: 480)
            }
        }
        #expect(got == data)
    }

    @Test func playbackIsByteExact() throws {
        let dir = Fixtures.tempDir()
        let raw = dir.appendingPathComponent("out.raw").path
        let data = pattern(bytes: 480 * 4 * 25)
        do {
            let pcm = try AlsaPCM(name: "t_play", direction: .playback, request: request,
                                  definition: VirtualPCM.playbackDefinition(name: "t_play", rawOutput: raw))
            try data.withUnsafeBytes { try pcm.write(from: $0.baseAddress!, frames: data.count / 4) }
            pcm.close()
        }
        let written = [UInt8](FileManager.default.contents(atPath: raw) ?? Data())
        #expect(written == data)
    }

    /// The null slave never over- or underruns by itself, so the xrun code alsa-lib would return
    /// (-EPIPE) is handed to the same recovery the transfer loop uses; the PCM must go on delivering
    /// the file where it left off.
    @Test func xrunIsRecoveredAndCounted() throws {
        let dir = Fixtures.tempDir()
        let raw = dir.appendingPathComponent("in.raw").path
        let data = pattern(bytes: 480 * 4 * 4)
        #expect(FileManager.default.createFile(atPath: raw, contents: Data(data)))
        let pcm = try AlsaPCM(name: "t_x", direction: .capture, request: request,
                              definition: VirtualPCM.captureDefinition(name: "t_x", rawInput: raw))
        var got = [UInt8](repeating: 0, count: data.count)
        try got.withUnsafeMutableBytes { buf in
            try pcm.read(into: buf.baseAddress!, frames: 480)
            try pcm.recover(from: -EPIPE, call: "snd_pcm_readi")
            try pcm.read(into: buf.baseAddress! + 480 * 4, frames: 480)
        }
        #expect(pcm.xruns == 1)
        #expect(Array(got[0..<480 * 8]) == Array(data[0..<480 * 8]))
    }

    @Test func deviceThatCannotOpenGivesTheDocumentedError() {
        do {
            _ = try AlsaPCM(name: "hw:CARD=NoSuchCard,DEV=0", direction: .capture, request: request)
            Issue.record("a missing card opened")
        } catch {
            guard case let .alsa(device, call, code, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(device == "hw:CARD=NoSuchCard,DEV=0")
            #expect(call == "snd_pcm_open")
            #expect(code < 0)
            #expect(error.description.contains("hw:CARD=NoSuchCard,DEV=0"))
            #expect(error.description.contains("arecord") || error.description.contains("check"))
        }
    }

    @Test func badDefinitionIsAnErrorNotACrash() {
        #expect(throws: AudioError.self) {
            _ = try AlsaPCM(name: "t_bad", direction: .playback, request: request,
                            definition: "pcm.t_bad { type no_such_plugin }")
        }
        #expect(throws: AudioError.self) {
            _ = try AlsaPCM(name: "t_bad2", direction: .playback, request: request, definition: "pcm.t_bad2 { type file ")
        }
    }

    @Test func formatsTheDeviceRefusesAreReported() throws {
        // A plain `hw`-less null PCM takes anything, so ask the file plugin for none of ours.
        let request = AlsaPCM.Request(rate: 16_000, channels: 1, formats: [], periodMs: 10, bufferPeriods: 2)
        #expect(throws: AudioError.self) {
            _ = try AlsaPCM(name: "t_fmt", direction: .playback, request: request,
                            definition: VirtualPCM.playbackDefinition(name: "t_fmt", rawOutput: "/dev/null"))
        }
    }
}
