import Foundation
@testable import MicroturnVision
import Testing
import TestSupport

/// The file camera on streams written here, byte for byte as the format defines them.
@Suite(.ownThreads) struct Y4MReaderTests {
    /// A stream of `frames` frames of `width` x `height`: frame f's luma pixel i is (f * 7 + i) % 256,
    /// its other planes 128.
    static func stream(width: Int, height: Int, frames: Int, header: String? = nil, space: String? = "420jpeg",
                       chromaBytes: Int? = nil) -> Data {
        var d = Data((header ?? "YUV4MPEG2 W\(width) H\(height) F25:1 Ip A1:1" + (space.map { " C\($0)" } ?? "") + "\n").utf8)
        let chroma = chromaBytes ?? 2 * ((width + 1) / 2) * ((height + 1) / 2)
        for f in 0..<frames {
            d.append(contentsOf: Array("FRAME\n".utf8))
            d.append(contentsOf: (0..<(width * height)).map { UInt8((f * 7 + $0) % 256) })
            d.append(contentsOf: [UInt8](repeating: 128, count: chroma))
        }
        return d
    }

    static func file(_ data: Data) throws -> String {
        let path = Scratch.directory.appendingPathComponent("mt-y4m-\(UUID().uuidString).y4m").path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    static func frames(_ path: String) throws -> [GreyFrame] {
        let r = try Y4MReader(path: path)
        var out: [GreyFrame] = []
        while let f = try r.next() { out.append(f) }
        return out
    }

    @Test(arguments: [("420jpeg", 2 * 3 * 2), ("420mpeg2", 12), ("422", 2 * 3 * 3), ("444", 2 * 5 * 3), ("444alpha", 3 * 5 * 3), ("mono", 0)])
    func everyColourSpaceGivesItsLuma(space: String, chroma: Int) throws {
        let path = try Self.file(Self.stream(width: 5, height: 3, frames: 4, space: space, chromaBytes: chroma))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let frames = try Self.frames(path)
        #expect(frames.count == 4)
        for (f, frame) in frames.enumerated() {
            #expect(frame.index == f && frame.width == 5 && frame.height == 3)
            #expect(frame.pixels == (0..<15).map { UInt8((f * 7 + $0) % 256) })
            #expect(abs(frame.timestamp - Double(f) / 25) < 1e-12)
        }
    }

    @Test func noColourTagMeans420AndFrameParametersAreSkipped() throws {
        var data = Self.stream(width: 4, height: 2, frames: 1, space: nil)
        data.append(contentsOf: Array("FRAME Ixyz\n".utf8) + [UInt8](repeating: 9, count: 8) + [UInt8](repeating: 128, count: 4))
        let path = try Self.file(data)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let frames = try Self.frames(path)
        #expect(frames.count == 2 && frames[1].pixels == [UInt8](repeating: 9, count: 8))
    }

    @Test func badHeadersAreNamed() throws {
        func failure(_ header: String) throws -> String {
            let path = try Self.file(Data((header + "\n").utf8) + Data("FRAME\n".utf8))
            defer { try? FileManager.default.removeItem(atPath: path) }
            do { _ = try Y4MReader(path: path); return "accepted" } catch { return error.description }
        }
        #expect(try failure("RIFF....WAVE").contains("does not start with \"YUV4MPEG2 \""))
        #expect(try failure("YUV4MPEG2 H480 F30:1").contains("width and height"))
        #expect(try failure("YUV4MPEG2 W0 H480").contains("width and height"))
        #expect(try failure("YUV4MPEG2 W640 H480 F30:0").contains("frame rate 'F30:0'"))
        #expect(try failure("YUV4MPEG2 W640 H480 C420p10").contains("C420p10 is not supported"))
        #expect(try failure("YUV4MPEG2 W640 H480 C420p10").contains("ffmpeg"))
        do { _ = try Y4MReader(path: "/nonexistent/clip.y4m"); Issue.record("opened a missing file") } catch {
            #expect(error.description.contains("no such file"))
        }
    }

    /// The header is counted in bytes: a Latin-1 byte in an X comment (one byte, which UTF-8
    /// decoding turns into three) still ends cleanly after the last frame.
    @Test func aLatin1CommentDoesNotShiftTheFrames() throws {
        var d = Data("YUV4MPEG2 W4 H2 F25:1 Cmono XCOMMENT=caf".utf8)
        d.append(contentsOf: [0xE9, 0x0A])
        d.append(Self.stream(width: 4, height: 2, frames: 3, space: "mono", chromaBytes: 0).drop(while: { $0 != 0x0A }).dropFirst())
        let frames = try Self.frames(try Self.file(d))
        #expect(frames.count == 3 && frames[2].pixels == (0..<8).map { UInt8((14 + $0) % 256) })
    }

    /// A frame larger than a board can hold is refused from the header, before any allocation.
    @Test func framesTooLargeAreRefusedFromTheHeader() throws {
        let path = try Self.file(Data("YUV4MPEG2 W16384 H16384 F25:1 C444alpha\nFRAME\n".utf8))
        #expect {
            _ = try Y4MReader(path: path)
        } throws: { error in
            guard case .badHeader(_, let reason) = error as? VisionError else { return false }
            return reason.contains("64 MiB")
        }
    }

    @Test func aCutFrameIsAnErrorAfterTheWholeOnes() throws {
        let whole = Self.stream(width: 8, height: 6, frames: 3)
        for cut in [whole.count - 1, whole.count - 30, whole.count - 70] {
            let path = try Self.file(whole.prefix(cut))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let r = try Y4MReader(path: path)
            #expect(try r.next()?.index == 0)
            #expect(try r.next()?.index == 1)
            do { _ = try r.next(); Issue.record("cut at \(cut): no error") } catch {
                #expect(error.description.contains("frame 2") && error.description.contains("cut short"), "\(error)")
            }
        }
        // Garbage where a frame should start.
        var damaged = Self.stream(width: 8, height: 6, frames: 1)
        damaged.append(contentsOf: Array("JUNK\n".utf8))
        let path = try Self.file(damaged)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try Y4MReader(path: path)
        _ = try r.next()
        #expect(throws: VisionError.self) { try r.next() }
    }

    @Test func scalingAveragesAreas() {
        let frame = GreyFrame(width: 4, height: 2, pixels: [0, 10, 20, 30, 40, 50, 60, 70], timestamp: 1.5, index: 3)
        let half = frame.scaled(toWidth: 2, height: 1)
        #expect(half.pixels == [25, 45] && half.timestamp == 1.5 && half.index == 3)
        #expect(frame.scaled(toWidth: 4, height: 2) == frame)
        #expect(GreyFrame(width: 640, height: 480, pixels: [UInt8](repeating: 77, count: 640 * 480), timestamp: 0, index: 0)
            .scaled(toWidth: 160, height: 120).pixels.allSatisfy { $0 == 77 })
    }
}
