// libFuzzer harness for the Y4M reader (built by tools/fuzz.sh with MicroturnVision's file
// sources): the reader reads files, so each input is written to one and read to its end or to
// the first VisionError.
import Foundation

private let path = FileManager.default.temporaryDirectory.appendingPathComponent("y4m-fuzz-\(getpid()).y4m").path

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzY4M(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    defer { try? FileManager.default.removeItem(atPath: path) }  // not left behind when the run ends
    guard let reader = try? Y4MReader(path: path) else { return 0 }
    var frames = 0
    while frames < 64, let frame = try? reader.next() {
        precondition(frame.pixels.count == reader.width * reader.height)
        frames += 1
    }
    return 0
}
