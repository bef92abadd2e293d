import Foundation

/// One picture as a camera delivers it: grey (one byte a pixel) or colour (red, green, blue bytes
/// a pixel), row after row, with its capture time (seconds, monotonic) and its number.
public struct CameraFrame: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 (grey) or 3 (RGB).
    public let channels: Int
    public let pixels: [UInt8]
    public let timestamp: Double
    public let index: Int

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8], timestamp: Double, index: Int) {
        precondition(channels == 1 || channels == 3, "a frame is grey (1 channel) or RGB (3)")
        precondition(pixels.count == width * height * channels, "a \(width)x\(height) frame of \(channels) channels has \(width * height * channels) bytes")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.timestamp = timestamp
        self.index = index
    }

    /// The grey picture (for colour, the luma of ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B).
    public var grey: GreyFrame {
        if channels == 1 { return GreyFrame(width: width, height: height, pixels: pixels, timestamp: timestamp, index: index) }
        var luma = [UInt8](repeating: 0, count: width * height)
        pixels.withUnsafeBufferPointer { rgb in
            for i in 0..<luma.count {
                let r = Int(rgb[3 * i]), g = Int(rgb[3 * i + 1]), b = Int(rgb[3 * i + 2])
                luma[i] = UInt8((19_595 * r + 38_470 * g + 7_471 * b + 32_768) >> 16)  // the weights in 1/65536ths
            }
        }
        return GreyFrame(width: width, height: height, pixels: luma, timestamp: timestamp, index: index)
    }

    /// The picture as a binary Netpbm image: PGM (P5) for grey, PPM (P6) for colour, which any
    /// image viewer opens.
    public var netpbm: Data {
        var data = Data("\(channels == 1 ? "P5" : "P6")\n\(width) \(height)\n255\n".utf8)
        data.append(contentsOf: pixels)
        return data
    }
}
