import CSpeexDSP
import MicroturnCore

/// Acoustic echo cancellation with speexdsp's MDF canceller, followed by its preprocessor for
/// residual echo (and mild noise) suppression. One 20 ms frame at a time; the reference must be
/// what playback wrote for the very same capture-clock samples as the microphone frame.
public final class EchoCanceller {
    public let frameSize: Int
    private let echo: OpaquePointer
    private let preprocess: OpaquePointer
    private var mic: [Int16]
    private var ref: [Int16]
    private var out: [Int16]
    /// The correlation, over the last two frames, between what the adaptive filter left and what it
    /// took away as echo (before residual suppression). Near -1 when the filter subtracts an echo
    /// that is no longer there, as after the echo path changed (the device was moved, a door
    /// opened): what is left is then largely its own estimate, sign flipped. Near 0 when what is
    /// left is someone else's voice or noise. Two frames, because over one 20 ms frame two
    /// unrelated voices often correlate by chance.
    public private(set) var leftToRemovedCorrelation = 0.0
    private var lastSums = (leftRemoved: 0.0, removed: 0.0, left: 0.0)

    public init(tailMs: Int, suppressDb: Int, frameSize: Int = ProcessingFormat.frameSamples,
                sampleRate: Int = ProcessingFormat.sampleRate) throws(AudioError) {
        self.frameSize = frameSize
        let tail = Int32(tailMs * sampleRate / 1000)
        guard let e = speex_echo_state_init(Int32(frameSize), tail),
              let p = speex_preprocess_state_init(Int32(frameSize), Int32(sampleRate)) else {
            throw .dsp(reason: "cannot create the echo canceller (frame \(frameSize), tail \(tailMs) ms)")
        }
        echo = e
        preprocess = p
        var rate = Int32(sampleRate)
        speex_echo_ctl(e, SPEEX_ECHO_SET_SAMPLING_RATE, &rate)
        speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_ECHO_STATE, UnsafeMutableRawPointer(e))
        var suppress = Int32(suppressDb)
        speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, &suppress)
        // While the user talks over the device, suppress gently: their voice must come through
        // for barge-in (the echo guard keeps residual echo from counting as speech).
        var suppressActive = Int32(max(suppressDb / 4, -15))
        speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, &suppressActive)
        // The preprocessor applies residual-echo suppression through its denoiser gains, so the
        // denoiser stays on, but gently: the VAD does its own noise tracking.
        var on: Int32 = 1
        speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_DENOISE, &on)
        var noise: Int32 = -6
        speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &noise)
        var off: Int32 = 0
        speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_AGC, &off)
        mic = [Int16](repeating: 0, count: frameSize)
        ref = mic
        out = mic
    }

    deinit {
        speex_echo_state_destroy(echo)
        speex_preprocess_state_destroy(preprocess)
    }

    /// Removes the echo of `reference` from `microphone` (both `frameSize` samples) in place.
    public func process(microphone: inout [Float], reference: [Float]) {
        precondition(microphone.count == frameSize && reference.count == frameSize, "echo canceller takes whole frames")
        for i in 0..<frameSize {
            mic[i] = SampleConversion.int16(microphone[i])
            ref[i] = SampleConversion.int16(reference[i])
        }
        speex_echo_cancellation(echo, mic, ref, &out)
        var leftRemoved = 0.0, removed = 0.0, left = 0.0
        for i in 0..<frameSize {
            let l = Double(out[i]), r = Double(mic[i]) - l
            leftRemoved += l * r
            removed += r * r
            left += l * l
        }
        let sums = (leftRemoved + lastSums.leftRemoved, removed + lastSums.removed, left + lastSums.left)
        lastSums = (leftRemoved, removed, left)
        leftToRemovedCorrelation = sums.1 > 0 && sums.2 > 0 ? sums.0 / (sums.1 * sums.2).squareRoot() : 0
        speex_preprocess_run(preprocess, &out)
        for i in 0..<frameSize { microphone[i] = Float(out[i]) / 32768 }
    }
}
