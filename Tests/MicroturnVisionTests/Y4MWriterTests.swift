import Foundation
import MicroturnVision
import Testing
import TestSupport

/// Recordings read back by the file camera, frame for frame.
@Suite(.ownThreads) struct Y4MWriterTests {
    static func frame(_ index: Int, width: Int = 6, height: Int = 4) -> GreyFrame {
        GreyFrame(width: width, height: height, pixels: (0..<(width * height)).map { UInt8((index * 31 + $0 * 3) % 256) },
                  timestamp: Double(index) / 25, index: index)
    }

    @Test func whatIsRecordedReadsBackTheSame() throws {
        let path = Scratch.directory.appendingPathComponent("mt-rec-\(UUID().uuidString).y4m").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let writer = try Y4MWriter(path: path, fps: (25, 1))
            for i in 0..<5 { try writer.write(Self.frame(i)) }
        }
        let reader = try Y4MReader(path: path)
        #expect(reader.width == 6 && reader.height == 4 && reader.frameRate == (25, 1) && reader.colourSpace == "mono")
        var read: [GreyFrame] = []
        while let f = try reader.next() { read.append(f) }
        #expect(read.map(\.pixels) == (0..<5).map { Self.frame($0).pixels })
        #expect(read.map(\.timestamp) == (0..<5).map { Double($0) / 25 })
    }

    @Test func aFrameOfAnotherSizeOrAFolderThatIsNotThereIsAClearError() throws {
        let path = Scratch.directory.appendingPathComponent("mt-rec-\(UUID().uuidString).y4m").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try Y4MWriter(path: path, fps: (30, 1))
        try writer.write(Self.frame(0))
        #expect(throws: VisionError.cannotWrite(path: path, reason: "frame 1 is 8x4, the recording 6x4")) {
            try writer.write(Self.frame(1, width: 8))
        }
        #expect(throws: VisionError.self) { try Y4MWriter(path: "/no/such/folder/rec.y4m", fps: (30, 1)) }
    }
}
