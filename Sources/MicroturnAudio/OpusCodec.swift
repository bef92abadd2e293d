import CMicroturnShims
import COpus
import MicroturnCore

/// Speech as Opus (libopus), the link's codec in both directions: 16 kHz mono, 20 ms packets,
/// VBR around 16-24 kb/s (RFC 7587's range for wideband speech), in-band FEC when asked for.
public enum Opus {
    /// 20 ms at 16 kHz: the only packet length the link uses.
    public static let frameSamples = 320
    /// The largest packet libopus makes (RFC 6716).
    public static let maxPacketBytes = 1275

    public struct Settings: Sendable, Equatable {
        public var bitrate: Int
        public var vbr: Bool
        /// Redundancy in each packet that lets the receiver rebuild the one before if it is lost.
        public var inbandFEC: Bool
        /// Expected loss, percent: how much FEC to spend.
        public var expectedLossPercent: Int
        public var complexity: Int

        public init(bitrate: Int = 16_000, vbr: Bool = true, inbandFEC: Bool = false, expectedLossPercent: Int = 0,
                    complexity: Int = 5) {
            self.bitrate = bitrate
            self.vbr = vbr
            self.inbandFEC = inbandFEC
            self.expectedLossPercent = expectedLossPercent
            self.complexity = complexity
        }
    }

    static func message(_ code: Int32) -> String { String(cString: opus_strerror(code)) }

    /// 16 kHz mono floats in, one packet per 20 ms out. One thread at a time.
    public final class Encoder {
        private let state: OpaquePointer
        public let settings: Settings
        private var pcm = [Int16](repeating: 0, count: Opus.frameSamples)
        private var packet = [UInt8](repeating: 0, count: Opus.maxPacketBytes)

        public init(settings: Settings = Settings()) throws(AudioError) {
            var error: Int32 = 0
            guard let st = opus_encoder_create(16_000, 1, OPUS_APPLICATION_VOIP, &error), error == OPUS_OK else {
                throw .dsp(reason: "Opus encoder: \(Opus.message(error))")
            }
            state = st
            self.settings = settings
            let raw = UnsafeMutableRawPointer(st)
            for (status, what) in [(mt_opus_set_bitrate(raw, Int32(settings.bitrate)), "bitrate \(settings.bitrate)"),
                                   (mt_opus_set_vbr(raw, settings.vbr ? 1 : 0), "VBR"),
                                   (mt_opus_set_inband_fec(raw, settings.inbandFEC ? 1 : 0), "in-band FEC"),
                                   (mt_opus_set_packet_loss_perc(raw, Int32(settings.expectedLossPercent)),
                                    "expected loss \(settings.expectedLossPercent) %"),
                                   (mt_opus_set_complexity(raw, Int32(settings.complexity)), "complexity \(settings.complexity)"),
                                   (mt_opus_set_signal_voice(raw), "voice signal")] where status != OPUS_OK {
                opus_encoder_destroy(st)
                throw .dsp(reason: "Opus encoder refused \(what): \(Opus.message(status))")
            }
        }

        deinit { opus_encoder_destroy(state) }

        /// Samples of delay the encoder adds (its look-ahead).
        public var lookahead: Int {
            var n: Int32 = 0
            _ = mt_opus_get_lookahead(UnsafeMutableRawPointer(state), &n)
            return Int(n)
        }

        /// Encodes exactly one 20 ms frame (`Opus.frameSamples` samples).
        public func encode(_ frame: ArraySlice<Float>) throws(AudioError) -> [UInt8] {
            guard frame.count == Opus.frameSamples else {
                throw .dsp(reason: "Opus frames are \(Opus.frameSamples) samples, got \(frame.count)")
            }
            for (i, x) in frame.enumerated() { pcm[i] = SampleConversion.int16(x) }
            let n = opus_encode(state, pcm, Int32(Opus.frameSamples), &packet, Int32(packet.count))
            guard n > 0 else { throw .dsp(reason: "Opus encode: \(Opus.message(n))") }
            return Array(packet[0..<Int(n)])
        }
    }

    /// Packets in, 16 kHz mono floats out; a lost packet is concealed (or rebuilt from the next
    /// one's FEC). One thread at a time.
    public final class Decoder {
        private let state: OpaquePointer
        private var pcm = [Int16](repeating: 0, count: Opus.frameSamples)

        public init() throws(AudioError) {
            var error: Int32 = 0
            guard let st = opus_decoder_create(16_000, 1, &error), error == OPUS_OK else {
                throw .dsp(reason: "Opus decoder: \(Opus.message(error))")
            }
            state = st
        }

        deinit { opus_decoder_destroy(state) }

        /// Decodes one packet into 20 ms. A packet that does not decode is an error naming why
        /// (the link then treats it as lost), never a crash.
        public func decode(_ packet: [UInt8]) throws(AudioError) -> [Float] {
            guard !packet.isEmpty, packet.count <= Opus.maxPacketBytes else {
                throw .dsp(reason: "an Opus packet of \(packet.count) bytes (1-\(Opus.maxPacketBytes) allowed)")
            }
            return try run { pcm in opus_decode(state, packet, Int32(packet.count), pcm, Int32(Opus.frameSamples), 0) }
        }

        /// 20 ms for a packet that never came: from `next`'s in-band FEC when it is there and
        /// carries it, otherwise concealed from what came before.
        public func conceal(next: [UInt8]? = nil) throws(AudioError) -> [Float] {
            if let next, !next.isEmpty, next.count <= Opus.maxPacketBytes {
                return try run { pcm in opus_decode(state, next, Int32(next.count), pcm, Int32(Opus.frameSamples), 1) }
            }
            return try run { pcm in opus_decode(state, nil, 0, pcm, Int32(Opus.frameSamples), 0) }
        }

        private func run(_ call: (UnsafeMutablePointer<Int16>) -> Int32) throws(AudioError) -> [Float] {
            let n = pcm.withUnsafeMutableBufferPointer { call($0.baseAddress!) }
            guard n > 0 else { throw .dsp(reason: "Opus decode: \(Opus.message(n))") }
            return pcm[0..<Int(n)].map { Float($0) / 32768 }
        }
    }
}

extension Opus.Settings {
    /// The link's request speech as the config sets it (`link.opus_bitrate`,
    /// `link.opus_fec_loss_percent`).
    public init(link: MicroturnConfig.Link) {
        self.init(bitrate: link.opusBitrate, inbandFEC: link.opusFecLossPercent > 0, expectedLossPercent: link.opusFecLossPercent)
    }
}
