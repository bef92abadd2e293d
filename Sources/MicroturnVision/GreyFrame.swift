/// One picture as 8-bit luma, row after row, with its capture time (seconds from the first
/// frame of the source, monotonic) and its number in the source.
public struct GreyFrame: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]
    public let timestamp: Double
    public let index: Int

    public init(width: Int, height: Int, pixels: [UInt8], timestamp: Double, index: Int) {
        precondition(pixels.count == width * height, "a \(width)x\(height) frame has \(width * height) pixels")
        self.width = width
        self.height = height
        self.pixels = pixels
        self.timestamp = timestamp
        self.index = index
    }

    /// The frame averaged down to `width` x `height` (each output pixel the mean of the source
    /// pixels its area covers; for the counter's 160x120 from any camera size).
    public func scaled(toWidth w: Int, height h: Int) -> GreyFrame {
        precondition(w > 0 && h > 0 && w <= width && h <= height, "scaling goes down, to a size of at least 1x1")
        var out = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            let y0 = y * height / h, y1 = max(y0 + 1, (y + 1) * height / h)
            for x in 0..<w {
                let x0 = x * width / w, x1 = max(x0 + 1, (x + 1) * width / w)
                var sum = 0
                for sy in y0..<y1 { for sx in x0..<x1 { sum += Int(pixels[sy * width + sx]) } }
                let n = (y1 - y0) * (x1 - x0)
                out[y * w + x] = UInt8((sum + n / 2) / n)
            }
        }
        return GreyFrame(width: w, height: h, pixels: out, timestamp: timestamp, index: index)
    }
}
