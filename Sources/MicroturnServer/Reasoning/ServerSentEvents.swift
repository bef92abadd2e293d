/// Server-sent events (the WHATWG event-stream format that OpenAI-compatible servers stream in),
/// read incrementally from bytes as they arrive: each event's data lines joined by "\n". Comments
/// and fields other than `data` are skipped; lines end in LF, CRLF or CR. An event larger than
/// `limit` bytes is refused, so a server that never ends a line cannot grow memory without bound.
public struct ServerSentEvents: Sendable {
    public struct TooLarge: Error, Equatable, CustomStringConvertible {
        public let limit: Int
        public var description: String { "an event of the stream is larger than \(limit) bytes" }
    }

    public let limit: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    /// A CR ended the last line: an LF right after it belongs to it.
    private var afterCR = false

    public init(limit: Int = 1 << 20) { self.limit = limit }

    /// The events the bytes complete.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws(TooLarge) -> [String] where Bytes.Element == UInt8 {
        var events: [String] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == 0x0A { continue }
            }
            if byte == 0x0A || byte == 0x0D {
                afterCR = byte == 0x0D
                if let event = try endLine() { events.append(event) }
            } else {
                line.append(byte)
                if line.count + data.count > limit { throw TooLarge(limit: limit) }
            }
        }
        return events
    }

    private mutating func endLine() throws(TooLarge) -> String? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {  // a blank line dispatches the event
            guard hasData else { return nil }
            defer { data.removeAll(keepingCapacity: true); hasData = false }
            return String(decoding: data, as: UTF8.self)
        }
        if line.first == UInt8(ascii: ":") { return nil }  // a comment (servers send them to keep a connection open)
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        guard line[..<colon].elementsEqual("data".utf8) else { return nil }
        var value = line[min(colon + 1, line.endIndex)...]
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if hasData { data.append(0x0A) }
        data.append(contentsOf: value)
        hasData = true
        if data.count > limit { throw TooLarge(limit: limit) }
        return nil
    }
}
