/// What can go wrong on the link, each with the protocol's error code (PROTOCOL.md) where the peer
/// is to be told, and what to do.
public enum LinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Bytes that are not a frame: a bad length, or a payload that does not decode.
    case frameInvalid(reason: String)
    case frameTooLarge(bytes: Int)
    /// A reliable frame whose sequence number is not the next one.
    case outOfOrder(expected: UInt64, got: UInt64)
    /// The peer sent past the receive window it was granted.
    case windowExceeded(seq: UInt64, limit: UInt64)
    /// The peer acknowledged frames that were never sent.
    case ackBeyondSent(ack: UInt64, sent: UInt64)
    /// On resume, the peer asks for frames this side no longer holds.
    case cannotReplay(from: UInt64, oldest: UInt64)
    /// The server does not admit this device (its certificate is unknown, expired or revoked).
    case refused(code: Microturn_Link_V1_Error.Code, message: String)
    /// This side cannot go on with the session (its task store failed, say); the peer may retry.
    case internalFailure(String)

    public var code: Microturn_Link_V1_Error.Code {
        switch self {
        case .frameInvalid, .ackBeyondSent: .frameInvalid
        case .frameTooLarge: .frameTooLarge
        case .outOfOrder: .outOfOrder
        case .windowExceeded: .windowExceeded
        case .cannotReplay: .resumeUnknown
        case let .refused(code, _): code
        case .internalFailure: .internal
        }
    }

    public var description: String {
        switch self {
        case let .frameInvalid(reason): "invalid frame: \(reason); the connection is closed (a peer of another protocol version?)"
        case let .frameTooLarge(bytes): "a frame of \(bytes) bytes is over the limit of \(FrameCodec.maxFrame); the connection is closed"
        case let .outOfOrder(expected, got): "reliable frame \(got) arrived where \(expected) was due; the connection is closed and resumed"
        case let .windowExceeded(seq, limit): "reliable frame \(seq) is past the granted window (up to \(limit)); the connection is closed"
        case let .ackBeyondSent(ack, sent): "the peer acknowledged frame \(ack) but only \(sent) were sent; the connection is closed"
        case let .cannotReplay(from, oldest): "the peer needs frames from \(from) on, but the oldest still held is \(oldest); start a new session"
        case let .refused(_, message): message
        case let .internalFailure(reason): "the other side failed: \(reason); the connection is closed, try again later"
        }
    }

    /// The ERROR frame that tells the peer, before this side closes the connection.
    public var frame: LinkFrame {
        var e = Microturn_Link_V1_Error()
        e.code = code
        e.message = description
        e.fatal = true
        var f = LinkFrame()
        f.body = .error(e)
        return f
    }
}
