import SwiftProtobuf

/// Frames on the wire (PROTOCOL.md, "Framing"): an unsigned LEB128 length of 1-3 bytes, then that
/// many bytes of a Protocol Buffers `Frame` with exactly one body.
public enum FrameCodec {
    public static let maxFrame = 65_536

    /// The bytes of one frame, length first.
    public static func encode(_ frame: Microturn_Link_V1_Frame) throws(LinkError) -> [UInt8] {
        let payload: [UInt8]
        do { payload = try frame.serializedBytes() } catch { throw .frameInvalid(reason: "cannot encode (\(error))") }
        guard !payload.isEmpty, payload.count <= maxFrame else { throw .frameTooLarge(bytes: payload.count) }
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 3)
        var n = payload.count
        repeat {
            let low = UInt8(n & 0x7f)
            n >>= 7
            out.append(n > 0 ? low | 0x80 : low)
        } while n > 0
        return out + payload
    }

    /// Takes bytes as they arrive and gives whole frames. After an error it stays broken: the
    /// connection is to be closed.
    public struct Decoder {
        private var buffer: [UInt8] = []
        private var start = 0
        private var failed: LinkError?

        public init() {}

        /// Bytes held that do not make a whole frame yet.
        public var pending: Int { buffer.count - start }

        public mutating func feed(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

        /// The next whole frame, or nil until more bytes come.
        public mutating func next() throws(LinkError) -> Microturn_Link_V1_Frame? {
            if let failed { throw failed }
            do { return try decodeNext() } catch {
                failed = error
                throw error
            }
        }

        private mutating func decodeNext() throws(LinkError) -> Microturn_Link_V1_Frame? {
            var length = 0, shift = 0, at = start
            while true {
                guard at < buffer.count else { return nil }
                let byte = buffer[at]
                at += 1
                length |= Int(byte & 0x7f) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
                guard at - start < 3 else { throw .frameInvalid(reason: "a length of more than 3 bytes") }
            }
            guard length > 0 else { throw .frameInvalid(reason: "a frame of 0 bytes") }
            guard length <= FrameCodec.maxFrame else { throw .frameTooLarge(bytes: length) }
            guard buffer.count - at >= length else { return nil }
            let frame: Microturn_Link_V1_Frame
            do { frame = try Microturn_Link_V1_Frame(serializedBytes: Array(buffer[at..<at + length])) } catch {
                throw .frameInvalid(reason: "the payload does not decode (\(error))")
            }
            guard frame.body != nil else { throw .frameInvalid(reason: "a frame without a body") }
            start = at + length
            // Let go of what is consumed once it is most of the buffer (amortized, no copy per frame).
            if start > 4096 && start * 2 > buffer.count {
                buffer.removeFirst(start)
                start = 0
            }
            return frame
        }
    }
}
