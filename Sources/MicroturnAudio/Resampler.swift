import CSpeexDSP

/// Mono sample-rate conversion with speexdsp. Streaming: keeps its filter state between calls.
/// When the rates are equal it copies, so the common 16 kHz path costs nothing.
public final class Resampler {
    public let inputRate: Int
    public let outputRate: Int
    private let state: OpaquePointer?

    public init(from inputRate: Int, to outputRate: Int, quality: Int32 = 5) throws(AudioError) {
        self.inputRate = inputRate
        self.outputRate = outputRate
        if inputRate == outputRate { state = nil; return }
        var err: Int32 = 0
        guard let st = speex_resampler_init(1, UInt32(inputRate), UInt32(outputRate), quality, &err), err == 0 else {
            throw .dsp(reason: "cannot resample \(inputRate) Hz to \(outputRate) Hz (speexdsp error \(err))")
        }
        state = st
        // Without this the first output samples are the filter's zero history, which delays the signal.
        speex_resampler_skip_zeros(st)
    }

    deinit { if let state { speex_resampler_destroy(state) } }

    /// Converts `input` and appends the result to `output`.
    public func process(_ input: UnsafeBufferPointer<Float>, appendingTo output: inout [Float]) {
        guard let state else { output.append(contentsOf: input); return }
        guard let base = input.baseAddress, !input.isEmpty else { return }
        let capacity = input.count * outputRate / inputRate + 64
        var consumed = 0
        var scratch = [Float](repeating: 0, count: capacity)
        while consumed < input.count {
            var inLen = UInt32(input.count - consumed)
            var outLen = UInt32(capacity)
            scratch.withUnsafeMutableBufferPointer { out in
                _ = speex_resampler_process_float(state, 0, base + consumed, &inLen, out.baseAddress, &outLen)
            }
            output.append(contentsOf: scratch[0..<Int(outLen)])
            consumed += Int(inLen)
            if inLen == 0 && outLen == 0 { break }
        }
    }

    public func process(_ input: [Float]) -> [Float] {
        var out: [Float] = []
        input.withUnsafeBufferPointer { process($0, appendingTo: &out) }
        return out
    }
}
