import SwiftProtobuf

public typealias LinkFrame = Microturn_Link_V1_Frame
public typealias LinkBody = Microturn_Link_V1_Frame.OneOf_Body

/// One side's reliability state for a session (PROTOCOL.md, "Reliability" and "Resume"): it numbers
/// the reliable frames this side sends and keeps each until the other side acknowledges it; it
/// hands on what arrives in order exactly once (a replayed duplicate is dropped, a gap is an
/// error); and after a reconnect it gives the frames the other side has not got, with speech too
/// old to matter replaced by EXPIRED. It outlives connections; it does no I/O and keeps no clock
/// (`now` is the caller's monotonic time, µs).
public struct ReliableChannel: Sendable {
    public struct Limits: Sendable {
        public var maxUnackedFrames: Int
        public var maxUnackedBytes: Int
        /// AUDIO not yet acknowledged that was first sent longer ago than this is not sent again.
        public var maxAudioAgeUs: UInt64
        /// Acknowledge on its own after this many reliable frames ...
        public var ackEveryFrames: UInt64
        /// ... or this long after an unacknowledged one arrived.
        public var ackDelayUs: UInt64

        public init(maxUnackedFrames: Int = 1024, maxUnackedBytes: Int = 4 << 20, maxAudioAgeUs: UInt64 = 2_000_000,
                    ackEveryFrames: UInt64 = 20, ackDelayUs: UInt64 = 100_000) {
            self.maxUnackedFrames = maxUnackedFrames
            self.maxUnackedBytes = maxUnackedBytes
            self.maxAudioAgeUs = maxAudioAgeUs
            self.ackEveryFrames = ackEveryFrames
            self.ackDelayUs = ackDelayUs
        }
    }

    private struct Sent: Sendable {
        var frame: LinkFrame
        var bytes: Int
        var firstSentUs: UInt64
    }

    public let limits: Limits
    /// The number the next reliable frame gets.
    public private(set) var nextSeq: UInt64 = 1
    /// The highest reliable frame received in order (what this side acknowledges).
    public private(set) var received: UInt64 = 0
    /// The highest of ours the other side has acknowledged.
    public private(set) var peerAcked: UInt64 = 0
    /// How many reliable frames past `peerAcked` the other side accepts.
    public private(set) var peerWindow: UInt64
    private var unacked: [Sent] = []
    private var unackedBytes = 0
    private var ackSent: UInt64 = 0       // the `ack` of the last frame this side made
    private var unackedSinceUs: UInt64?   // when the oldest frame not yet acknowledged to the peer came

    public init(limits: Limits = Limits(), peerWindow: UInt64 = 64) {
        self.limits = limits
        self.peerWindow = peerWindow
    }

    /// Reliable frames sent and not acknowledged yet.
    public var inFlight: Int { unacked.count }

    /// Whether a reliable frame may go out now: inside the other side's window, and room to keep it.
    public var canSend: Bool {
        nextSeq <= peerAcked + peerWindow && unacked.count < limits.maxUnackedFrames && unackedBytes < limits.maxUnackedBytes
    }

    public static func isReliable(_ body: LinkBody) -> Bool {
        switch body {
        case .audio, .expired, .event, .task, .progress, .result, .toolCall, .toolResult: true
        case .hello, .welcome, .ackOnly, .ping, .pong, .credit, .goAway, .error: false
        }
    }

    /// `body` as this side's next frame: numbered and kept when reliable (nil when `canSend` is
    /// false: the caller keeps it and tries again when acks or credit come).
    public mutating func send(_ body: LinkBody, now: UInt64) -> LinkFrame? {
        guard Self.isReliable(body) else { return control(body) }
        guard canSend else { return nil }
        var frame = control(body)
        frame.seq = nextSeq
        nextSeq += 1
        let bytes = (try? frame.serializedBytes() as [UInt8])?.count ?? 0
        unacked.append(Sent(frame: frame, bytes: bytes, firstSentUs: now))
        unackedBytes += bytes
        return frame
    }

    /// An unreliable frame (PING, ACK-only, ...) carrying the current acknowledgement.
    public mutating func control(_ body: LinkBody) -> LinkFrame {
        var frame = LinkFrame()
        frame.ack = received
        frame.body = body
        ackSent = received
        unackedSinceUs = nil
        return frame
    }

    /// Whether an ACK-only frame is due (no other frame carried the acknowledgement in time).
    public func ackDue(now: UInt64) -> Bool {
        guard received > ackSent else { return false }
        return received - ackSent >= limits.ackEveryFrames || now - (unackedSinceUs ?? now) >= limits.ackDelayUs
    }

    /// A frame that arrived. Returns the body to act on: nil for a replayed duplicate and for what
    /// only this layer needs (ACK-only, CREDIT). Throws for what the protocol forbids.
    public mutating func receive(_ frame: LinkFrame, now: UInt64) throws(LinkError) -> LinkBody? {
        try acknowledge(frame.ack)
        guard let body = frame.body else { throw .frameInvalid(reason: "a frame without a body") }
        if case let .credit(c) = body {
            peerWindow = UInt64(c.window)
            return nil
        }
        if case .ackOnly = body { return nil }
        guard Self.isReliable(body) else {
            guard frame.seq == 0 else { throw .frameInvalid(reason: "an unreliable message with sequence number \(frame.seq)") }
            return body
        }
        if frame.seq <= received { return nil }  // replayed, already handed on
        guard frame.seq == received + 1 else { throw .outOfOrder(expected: received + 1, got: frame.seq) }
        received = frame.seq
        if unackedSinceUs == nil { unackedSinceUs = now }
        return body
    }

    /// The other side has everything up to `ack`.
    public mutating func acknowledge(_ ack: UInt64) throws(LinkError) {
        guard ack < nextSeq else { throw .ackBeyondSent(ack: ack, sent: nextSeq - 1) }
        guard ack > peerAcked else { return }
        peerAcked = ack
        while let first = unacked.first, first.frame.seq <= ack {
            unackedBytes -= first.bytes
            unacked.removeFirst()
        }
    }

    /// The other side granted a new window (HELLO, WELCOME, CREDIT).
    public mutating func grant(window: UInt64) { peerWindow = window }

    /// After a reconnect: the other side reports it has everything up to `peerReceived`. Frees
    /// that, and returns the rest to send again in order (with the current ack), AUDIO first sent
    /// longer than `maxAudioAgeUs` ago replaced by EXPIRED under the same number.
    public mutating func replay(after peerReceived: UInt64, now: UInt64) throws(LinkError) -> [LinkFrame] {
        // Frames it acknowledged before are gone from here: a peer that reports less lost its state.
        if peerReceived < peerAcked { throw .cannotReplay(from: peerReceived + 1, oldest: peerAcked + 1) }
        try acknowledge(peerReceived)
        return unacked.map { sent in
            var frame = sent.frame
            frame.ack = received
            if case let .audio(a) = sent.frame.body, now - sent.firstSentUs > limits.maxAudioAgeUs {
                var e = Microturn_Link_V1_Expired()
                e.streamID = a.streamID
                e.firstPacket = a.firstPacket
                e.packets = UInt32(a.opus.count)
                frame.body = .expired(e)
            }
            ackSent = received
            return frame
        }
    }

    /// For a new session (the server could not resume the old one): starts numbering again and
    /// returns what the old session had not got acknowledged, in order, to be sent again as new
    /// frames (task ids keep the server from running any twice).
    public mutating func restart() -> [LinkBody] {
        let bodies = unacked.compactMap(\.frame.body)
        self = ReliableChannel(limits: limits, peerWindow: peerWindow)
        return bodies
    }
}
