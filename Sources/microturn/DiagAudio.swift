import Foundation
import MicroturnAudio
import MicroturnCore

/// `microturn diag` on sound: the cards there are, the configured PCMs opened with the configured
/// format, the microphone's level, and a tone played and heard again where playback reaches capture.
enum DiagAudio {
    static func checks(config: MicroturnConfig, captureSeconds: Double, forceLoop: Bool) -> [DiagCheck] {
        var out = [cards()]
        let a = config.audio
        let request = AlsaPCM.Request(rate: a.rate, channels: a.channels, formats: a.formats.compactMap(SampleFormat.init(rawValue:)),
                                      periodMs: a.periodMs, bufferPeriods: a.bufferPeriods)
        let hint = "list the cards above (or arecord -l / aplay -l) and set audio.capture_device and audio.playback_device to hw:CARD=ID,DEV=0 or plughw:CARD=ID,DEV=0 in /etc/microturn/microturn.toml"
        // Each PCM opened with the configured format, or what to do when it does not open.
        func open(_ check: String, _ name: String, _ direction: AlsaPCM.Direction) -> AlsaPCM? {
            do {
                let pcm = try AlsaPCM(name: name, direction: direction, request: request)
                out.append(.pass(check, "\(name) opened: \(describe(pcm.parameters))", numbers(pcm.parameters)))
                return pcm
            } catch {
                out.append(.fail(check, "\(name) does not open: \(error)", hint: hint))
                return nil
            }
        }
        let capture = open("audio.capture", a.captureDevice, .capture)
        let playback = open("audio.playback", a.playbackDevice, .playback)
        guard let capture else {
            out.append(.skipped("audio.level", "the capture device did not open"))
            out.append(.skipped("audio.loop", "the capture device did not open"))
            return out
        }
        out.append(level(capture, seconds: captureSeconds))
        // A loop exists on snd-aloop (the virtual board), or where the technician says the
        // loudspeaker can be heard by the microphone (--loopback): it plays a tone, loudly.
        let isLoopbackCard = a.captureDevice.contains("Loopback")
        if let playback, isLoopbackCard || forceLoop {
            out.append(loop(capture: capture, playback: playback))
        } else {
            out.append(.skipped("audio.loop", playback == nil ? "the playback device did not open"
                                : "no playback-to-capture loop known here",
                                hint: playback == nil ? "" : "with the loudspeaker in the microphone's hearing, run microturn diag --only audio --loopback (it plays a 1 kHz tone)"))
        }
        return out
    }

    /// /proc/asound/cards: " 0 [Loopback       ]: Loopback - Loopback".
    static func cards() -> DiagCheck {
        guard let text = try? String(contentsOfFile: "/proc/asound/cards", encoding: .utf8) else {
            return .fail("audio.cards", "no /proc/asound: this kernel has no sound support loaded",
                          hint: "load the board's sound driver (its device-tree overlay, or snd-usb-audio for a USB adapter)")
        }
        var ids: [String] = []
        for line in text.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard let open = t.firstIndex(of: "["), let close = t.firstIndex(of: "]"), open < close,
                  Int(t[..<open].trimmingCharacters(in: .whitespaces)) != nil else { continue }
            let id = t[t.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
            let name = t[t.index(after: close)...].drop { $0 == ":" || $0 == " " }
            ids.append("\(id) (\(name))")
        }
        if ids.isEmpty {
            return .fail("audio.cards", "no sound card", hint: "plug in the USB audio adapter or enable the board's codec; `dmesg | grep -i snd` tells why a driver did not bind")
        }
        return .pass("audio.cards", "\(ids.count) card\(ids.count == 1 ? "" : "s"): \(ids.joined(separator: "; "))", [("cards", Double(ids.count))])
    }

    static func describe(_ p: AlsaPCM.Parameters) -> String {
        "\(p.rate) Hz, \(p.channels) ch, \(p.format.rawValue), period \(p.periodFrames) frames, buffer \(p.bufferFrames)"
    }

    static func numbers(_ p: AlsaPCM.Parameters) -> [(key: String, value: Double)] {
        [("rate_hz", Double(p.rate)), ("channels", Double(p.channels)), ("period_frames", Double(p.periodFrames)),
         ("buffer_frames", Double(p.bufferFrames))]
    }

    /// `frames` of capture as mono samples.
    static func record(_ pcm: AlsaPCM, frames total: Int) throws -> [Float] {
        let p = pcm.parameters
        var raw = [UInt8](repeating: 0, count: p.periodFrames * p.bytesPerFrame)
        var mono: [Float] = [], out: [Float] = []
        out.reserveCapacity(total)
        while out.count < total {
            try raw.withUnsafeMutableBytes { b in try pcm.read(into: b.baseAddress!, frames: p.periodFrames) }
            raw.withUnsafeBytes { SampleConversion.toMono($0.baseAddress!, frames: p.periodFrames, channels: p.channels, format: p.format, into: &mono) }
            out += mono
        }
        return out
    }

    /// The microphone's level over `seconds`: RMS, peak, DC offset, clipping.
    static func level(_ pcm: AlsaPCM, seconds: Double) -> DiagCheck {
        let samples: [Float]
        do { samples = try record(pcm, frames: Int(seconds * Double(pcm.parameters.rate))) } catch {
            return .fail("audio.level", "capture stopped: \(error)", hint: "the device vanished or stalled; check its cable and dmesg")
        }
        let n = Double(max(1, samples.count))
        let mean = samples.reduce(0.0) { $0 + Double($1) } / n
        let rms = (samples.reduce(0.0) { $0 + Double($1 - Float(mean)) * Double($1 - Float(mean)) } / n).squareRoot()
        let peak = Double(samples.map { abs($0) }.max() ?? 0)
        let clipped = Double(samples.filter { abs($0) >= 0.999 }.count) / n
        let rmsDb = 20 * log10(max(rms, 1e-10))
        let figures: [(key: String, value: Double)] = [("rms_dbfs", rmsDb), ("peak", peak), ("dc_offset", mean), ("clipped_percent", clipped * 100)]
        let said = String(format: "%.1f s: RMS %.1f dBFS, peak %.3f, DC %.4f, clipped %.2f %%", n / Double(pcm.parameters.rate), rmsDb, peak, mean, clipped * 100)
        if clipped > 0.001 {
            return DiagCheck(name: "audio.level", status: .warn, summary: said + ": clipping", numbers: figures,
                             hint: "lower the capture gain (alsamixer -c CARD, F4) until the peak stays below 0.9 when people talk")
        }
        if rmsDb < -80 {
            return DiagCheck(name: "audio.level", status: .warn, summary: said + ": digital silence", numbers: figures,
                             hint: "the microphone gives nothing: unmute its capture switch (alsamixer -c CARD, F4, space) and check it is plugged in")
        }
        if abs(mean) > 0.02 {
            return DiagCheck(name: "audio.level", status: .warn, summary: said + ": DC offset", numbers: figures,
                             hint: "a DC offset this large wastes headroom: check the microphone's bias and ground")
        }
        return .pass("audio.level", said, figures)
    }

    /// Plays a 1 kHz tone and finds it in capture by FFT: its frequency, level and round trip (as
    /// alsabat does): from handing it to ALSA to its onset in capture, and the part of that after
    /// the playback queue (the path itself plus capture's buffering).
    static func loop(capture: AlsaPCM, playback: AlsaPCM, frequency: Double = 1000) -> DiagCheck {
        let pr = playback.parameters, cr = capture.parameters
        let recorded = Recorder(pcm: capture, frames: Int(1.6 * Double(cr.rate)))
        recorded.start()
        // When the tone's first sample was handed to ALSA, and when it left the playback queue.
        var toneWritten: UInt64 = 0, toneLeft: UInt64 = 0
        do {
            let period = pr.periodFrames
            var raw = [UInt8](repeating: 0, count: period * pr.bytesPerFrame)
            let total = Int(1.2 * Double(pr.rate)), toneStart = Int(0.2 * Double(pr.rate)), toneEnd = Int(0.8 * Double(pr.rate))
            var mono = [Float](repeating: 0, count: period)
            for start in stride(from: 0, to: total, by: period) {
                for i in 0..<period {
                    let k = start + i
                    mono[i] = k >= toneStart && k < toneEnd ? Float(0.25 * sin(2 * Double.pi * frequency * Double(k) / Double(pr.rate))) : 0
                }
                if start <= toneStart && toneStart < start + period {
                    toneWritten = MonotonicClock.now() + UInt64(Double(toneStart - start) / Double(pr.rate) * 1e9)
                    // It leaves after what is queued ahead of it.
                    toneLeft = toneWritten + UInt64(Double(playback.delay()) / Double(pr.rate) * 1e9)
                }
                mono.withUnsafeBufferPointer { m in raw.withUnsafeMutableBytes { SampleConversion.fromMono(m, channels: pr.channels, format: pr.format, into: $0.baseAddress!) } }
                try raw.withUnsafeBytes { b in try playback.write(from: b.baseAddress!, frames: period) }
            }
        } catch {
            recorded.wait()
            return .fail("audio.loop", "playback stopped: \(error)", hint: "the playback device vanished or stalled; check dmesg")
        }
        recorded.wait()
        if let e = recorded.error { return .fail("audio.loop", "capture stopped: \(e)", hint: "check the capture device") }
        let samples = recorded.samples
        // Onset: the first 5 ms block well above what came before the tone.
        let block = max(1, cr.rate / 200)
        let blocks = samples.count / block
        let energy = (0..<blocks).map { b in (b * block..<(b + 1) * block).reduce(0.0) { $0 + Double(samples[$1] * samples[$1]) } / Double(block) }
        // The noise floor: the median block of the first 150 ms, before any tone can arrive.
        let before = energy.prefix(max(1, min(blocks, 30))).sorted()
        let floor = max(1e-9, before.isEmpty ? 0 : before[before.count / 2])
        guard let onset = energy.firstIndex(where: { $0 > max(floor * 100, 1e-5) }) else {
            return .fail("audio.loop", "the tone played was not heard again", hint: "raise the playback volume and the capture gain (alsamixer), and check that the loudspeaker reaches the microphone")
        }
        let onsetTime = recorded.firstSampleTime + UInt64(Double(onset * block) / Double(cr.rate) * 1e9)
        let roundTripMs = (Double(onsetTime) - Double(toneWritten)) / 1e6
        let pathMs = (Double(onsetTime) - Double(toneLeft)) / 1e6
        let fft = FFT(size: 4096)
        let from = min(samples.count - 1, onset * block + cr.rate / 50)
        let segment = Array(samples[from..<min(samples.count, from + fft.size)])
        let spectrum = fft.powerSpectrum(segment, mean: 0)
        let peakBin = spectrum.indices.dropFirst().max { spectrum[$0] < spectrum[$1] } ?? 0
        let peakHz = Double(peakBin) * Double(cr.rate) / Double(fft.size)
        let toneRms = (segment.reduce(0.0) { $0 + Double($1 * $1) } / Double(max(1, segment.count))).squareRoot()
        let toneDb = 20 * log10(max(toneRms, 1e-10))
        let figures: [(key: String, value: Double)] = [("tone_hz", frequency), ("heard_hz", peakHz), ("level_dbfs", toneDb),
                                                      ("round_trip_ms", roundTripMs), ("after_playback_queue_ms", pathMs)]
        let binWidth = Double(cr.rate) / Double(fft.size)
        guard abs(peakHz - frequency) <= 2 * binWidth else {
            return .fail("audio.loop", String(format: "a %.0f Hz tone was played; the loudest frequency heard was %.0f Hz", frequency, peakHz),
                         hint: "something else is louder than the tone, or the path distorts it: lower the capture gain or quieten the room", figures)
        }
        return .pass("audio.loop", String(format: "%.0f Hz tone heard at %.0f Hz, %.1f dBFS, %.0f ms from write to capture (%.0f ms of it after the playback queue)",
                                              frequency, peakHz, toneDb, roundTripMs, pathMs), figures)
    }

    /// Capture on its own thread while playback runs.
    final class Recorder: @unchecked Sendable {
        let pcm: AlsaPCM
        let frames: Int
        private(set) var samples: [Float] = []
        private(set) var error: Error?
        /// When the first captured sample came in (monotonic ns).
        private(set) var firstSampleTime: UInt64 = 0
        private var thread: Thread?
        private let done = DispatchSemaphore(value: 0)

        init(pcm: AlsaPCM, frames: Int) { self.pcm = pcm; self.frames = frames }

        func start() {
            let t = Thread { [self] in
                do {
                    let p = pcm.parameters
                    var first = try DiagAudio.record(pcm, frames: p.periodFrames)
                    // The first period ended when read returned: its first sample is a period older.
                    firstSampleTime = MonotonicClock.now() - UInt64(Double(p.periodFrames) / Double(p.rate) * 1e9)
                    first += try DiagAudio.record(pcm, frames: frames - first.count)
                    samples = first
                } catch { self.error = error }
                done.signal()
            }
            thread = t
            t.start()
        }

        func wait() { done.wait() }
    }
}
