/// One feed-forward block's run over a batch, as `Transformer.feedForwardProbe` sees it. The
/// pointers are valid only during the call.
public struct FeedForwardTrace {
    /// An expert a token went through: its gate weight and the norm of its output (before the
    /// weight).
    public struct Pick: Sendable, Equatable {
        public let expert: Int
        public let weight: Float
        public let outputNorm: Float
    }

    public let layer: Int
    public let tokens: Int
    /// The block's input (after its norm): `tokens` rows of the model's width.
    public let input: UnsafePointer<Float>
    /// A dense block's hidden activations silu(gate x) * up x: `tokens` rows of `hiddenWidth`
    /// (nil for experts).
    public let hidden: UnsafePointer<Float>?
    public let hiddenWidth: Int
    /// A dense block's output: `tokens` rows of the model's width (nil for experts).
    public let output: UnsafePointer<Float>?
    /// An expert block's choices, per token (empty for a dense block).
    public let picks: [[Pick]]

    init(layer: Int, tokens: Int, input: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>? = nil, hiddenWidth: Int = 0,
         output: UnsafeMutablePointer<Float>? = nil, picks: [[Pick]] = []) {
        self.layer = layer
        self.tokens = tokens
        self.input = UnsafePointer(input)
        self.hidden = hidden.map { UnsafePointer($0) }
        self.hiddenWidth = hiddenWidth
        self.output = output.map { UnsafePointer($0) }
        self.picks = picks
    }
}
