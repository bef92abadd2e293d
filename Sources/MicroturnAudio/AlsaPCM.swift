import CAlsa
import CMicroturnShims
import Glibc
import MicroturnCore

/// One open ALSA PCM in blocking interleaved mode, with the parameters the hardware accepted.
/// Owned by exactly one device thread after opening (not Sendable: its handle must not be shared).
public final class AlsaPCM {
    public enum Direction: Sendable { case capture, playback }

    /// What the device agreed to.
    public struct Parameters: Sendable, Equatable {
        public var rate: Int
        public var channels: Int
        public var format: SampleFormat
        public var periodFrames: Int
        public var bufferFrames: Int
        public var bytesPerFrame: Int { channels * format.bytesPerSample }
    }

    /// What Microturn asks for; the device's nearest values win.
    public struct Request: Sendable {
        public var rate: Int
        public var channels: Int
        public var formats: [SampleFormat]
        public var periodMs: Int
        public var bufferPeriods: Int

        public init(rate: Int, channels: Int, formats: [SampleFormat], periodMs: Int, bufferPeriods: Int) {
            self.rate = rate
            self.channels = channels
            self.formats = formats
            self.periodMs = periodMs
            self.bufferPeriods = bufferPeriods
        }
    }

    public let name: String
    public let direction: Direction
    public let parameters: Parameters
    /// Over- and underruns recovered so far.
    public private(set) var xruns = 0
    private var handle: OpaquePointer?

    /// Opens `name` from the system's ALSA configuration, or from `definition` when given: an ALSA
    /// configuration text (`pcm.NAME { ... }`) used instead of the system's (see `VirtualPCM`).
    public init(name: String, direction: Direction, request: Request, definition: String? = nil) throws(AudioError) {
        mt_alsa_capture_errors()
        self.name = name
        self.direction = direction
        let stream = direction == .capture ? SND_PCM_STREAM_CAPTURE : SND_PCM_STREAM_PLAYBACK
        var pcm: OpaquePointer?
        if let definition {
            var top: OpaquePointer?
            try Self.check(snd_config_top(&top), device: name, call: "snd_config_top")
            defer { snd_config_delete(top) }
            var input: OpaquePointer?
            let bytes = Array(definition.utf8CString)
            try Self.check(bytes.withUnsafeBufferPointer { snd_input_buffer_open(&input, $0.baseAddress, bytes.count - 1) },
                           device: name, call: "snd_input_buffer_open")
            let loaded = snd_config_load(top, input)
            snd_input_close(input)
            try Self.check(loaded, device: name, call: "parsing the PCM definition")
            try Self.check(snd_pcm_open_lconf(&pcm, name, stream, 0, top), device: name, call: "snd_pcm_open")
        } else {
            try Self.check(snd_pcm_open(&pcm, name, stream, 0), device: name, call: "snd_pcm_open")
        }
        handle = pcm
        do {
            parameters = try Self.configure(pcm!, name: name, request: request, capture: direction == .capture)
        } catch {
            snd_pcm_close(pcm)
            handle = nil
            throw error
        }
    }

    deinit { close() }

    public func close() {
        if let handle { snd_pcm_close(handle) }
        handle = nil
    }

    /// Reads exactly `frames` frames (blocking), recovering from overruns on the way.
    public func read(into buffer: UnsafeMutableRawPointer, frames: Int) throws(AudioError) {
        var done = 0
        while done < frames {
            let r = snd_pcm_readi(handle, buffer + done * parameters.bytesPerFrame, snd_pcm_uframes_t(frames - done))
            if r >= 0 { done += r; continue }
            try recover(from: Int32(r), call: "snd_pcm_readi")
        }
    }

    /// Writes exactly `frames` frames (blocking), recovering from underruns on the way.
    public func write(from buffer: UnsafeRawPointer, frames: Int) throws(AudioError) {
        var done = 0
        while done < frames {
            let r = snd_pcm_writei(handle, buffer + done * parameters.bytesPerFrame, snd_pcm_uframes_t(frames - done))
            if r >= 0 { done += r; continue }
            try recover(from: Int32(r), call: "snd_pcm_writei")
        }
    }

    /// Frames queued in the device ahead of what is heard now (playback) or not yet read (capture).
    public func delay() -> Int {
        var d: snd_pcm_sframes_t = 0
        return snd_pcm_delay(handle, &d) == 0 ? d : 0
    }

    /// Handles an error code from a transfer: overruns/underruns (-EPIPE), suspends (-ESTRPIPE)
    /// and interrupted calls are recovered and counted; anything else (the device vanished) is thrown.
    public func recover(from code: Int32, call: String) throws(AudioError) {
        if code == -EAGAIN || code == -EINTR { return }
        if code == -EPIPE || code == -ESTRPIPE { xruns += 1 }
        let r = snd_pcm_recover(handle, code, 1)
        if r < 0 { try Self.check(code, device: name, call: call) }
    }

    /// The one place a negative ALSA return becomes a thrown error.
    static func check(_ code: Int32, device: String, call: String) throws(AudioError) {
        guard code < 0 else { return }
        let detail = String(cString: mt_alsa_take_last_error())
        let message = String(cString: snd_strerror(code)) + (detail.isEmpty ? "" : "; \(detail)")
        throw .alsa(device: device, call: call, code: code, message: message)
    }

    private static func configure(_ pcm: OpaquePointer, name: String, request: Request,
                                  capture: Bool) throws(AudioError) -> Parameters {
        var hw: OpaquePointer?
        try check(snd_pcm_hw_params_malloc(&hw), device: name, call: "snd_pcm_hw_params_malloc")
        defer { snd_pcm_hw_params_free(hw) }
        try check(snd_pcm_hw_params_any(pcm, hw), device: name, call: "snd_pcm_hw_params_any")
        try check(snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED), device: name,
                  call: "set interleaved access")
        guard let format = request.formats.first(where: { snd_pcm_hw_params_test_format(pcm, hw, $0.alsa) == 0 }) else {
            throw .noUsableFormat(device: name, tried: request.formats.map(\.rawValue))
        }
        try check(snd_pcm_hw_params_set_format(pcm, hw, format.alsa), device: name, call: "set format \(format.rawValue)")
        var channels = UInt32(request.channels)
        try check(snd_pcm_hw_params_set_channels_near(pcm, hw, &channels), device: name, call: "set channels")
        var rate = UInt32(request.rate)
        var dir: Int32 = 0
        try check(snd_pcm_hw_params_set_rate_near(pcm, hw, &rate, &dir), device: name, call: "set rate \(request.rate)")
        var period = snd_pcm_uframes_t(Int(rate) * request.periodMs / 1000)
        try check(snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, &dir), device: name, call: "set period size")
        var buffer = period * snd_pcm_uframes_t(request.bufferPeriods)
        try check(snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer), device: name, call: "set buffer size")
        try check(snd_pcm_hw_params(pcm, hw), device: name, call: "snd_pcm_hw_params")

        var sw: OpaquePointer?
        try check(snd_pcm_sw_params_malloc(&sw), device: name, call: "snd_pcm_sw_params_malloc")
        defer { snd_pcm_sw_params_free(sw) }
        try check(snd_pcm_sw_params_current(pcm, sw), device: name, call: "snd_pcm_sw_params_current")
        try check(snd_pcm_sw_params_set_avail_min(pcm, sw, period), device: name, call: "set avail_min")
        // Playback starts once the buffer is full (primed with silence); capture on the first read.
        try check(snd_pcm_sw_params_set_start_threshold(pcm, sw, capture ? 1 : buffer), device: name,
                  call: "set start threshold")
        try check(snd_pcm_sw_params(pcm, sw), device: name, call: "snd_pcm_sw_params")
        try check(snd_pcm_prepare(pcm), device: name, call: "snd_pcm_prepare")
        return Parameters(rate: Int(rate), channels: Int(channels), format: format,
                          periodFrames: Int(period), bufferFrames: Int(buffer))
    }
}

extension SampleFormat {
    var alsa: snd_pcm_format_t {
        switch self {
        case .s16: return SND_PCM_FORMAT_S16_LE
        case .s32: return SND_PCM_FORMAT_S32_LE
        case .float: return SND_PCM_FORMAT_FLOAT_LE
        }
    }
}
