import Foundation
import MicroturnLink
import Testing
import TestSupport

/// Frames on the wire: every message round-trips, byte by byte or all at once; what is not a
/// frame is an error, never a crash, and the decoder stays broken after it.
@Suite(.ownThreads) struct FrameCodecTests {
    /// One frame of every body, with fields set from `k`.
    static func everyBody(_ k: Int) -> [LinkFrame] {
        var bodies: [LinkBody] = []
        var hello = Microturn_Link_V1_Hello()
        hello.protocolVersion = 1
        hello.deviceID = "kiosk-\(k)"
        hello.capabilities = ["opus16k", "tool:reps"]
        hello.resumeToken = Data(repeating: UInt8(k & 0xff), count: 16)
        hello.received = UInt64(k)
        bodies.append(.hello(hello))
        var welcome = Microturn_Link_V1_Welcome()
        welcome.sessionID = "s\(k)"
        welcome.resumed = k % 2 == 0
        welcome.heartbeatMs = 1000
        bodies.append(.welcome(welcome))
        var audio = Microturn_Link_V1_Audio()
        audio.streamID = "u\(k)"
        audio.captureTimeUs = UInt64(k) * 20_000
        audio.opus = (0..<(1 + k % 3)).map { Data(repeating: UInt8($0), count: 40 + k % 50) }
        audio.end = k % 5 == 0
        bodies.append(.audio(audio))
        var expired = Microturn_Link_V1_Expired()
        expired.streamID = "u\(k)"
        expired.packets = 3
        bodies.append(.expired(expired))
        var event = Microturn_Link_V1_Event()
        event.kind = .playback
        event.playedMs = UInt32(k)
        event.cut = true
        bodies.append(.event(event))
        var task = Microturn_Link_V1_Task()
        task.taskID = "t\(k)"
        task.transcript = "what is the time in Tokyo, \u{00e9}\u{4e16}"
        task.context = ["board": "rpi5", "lang": "en"]
        bodies.append(.task(task))
        var progress = Microturn_Link_V1_Progress()
        progress.stage = "reasoning"
        bodies.append(.progress(progress))
        var result = Microturn_Link_V1_Result()
        result.taskID = "t\(k)"
        result.final = true
        result.text = String(repeating: "answer ", count: k % 40)
        bodies.append(.result(result))
        var call = Microturn_Link_V1_ToolCall()
        call.name = "reps"
        call.argumentsJson = "{}"
        bodies.append(.toolCall(call))
        var toolResult = Microturn_Link_V1_ToolResult()
        toolResult.resultJson = "{\"count\":\(k)}"
        bodies.append(.toolResult(toolResult))
        bodies.append(.ackOnly(.init()))
        var ping = Microturn_Link_V1_Ping()
        ping.nonce = UInt64(k) &* 0x9E37_79B9_7F4A_7C15
        bodies.append(.ping(ping))
        bodies.append(.pong(.init()))
        var credit = Microturn_Link_V1_Credit()
        credit.window = 64
        bodies.append(.credit(credit))
        var away = Microturn_Link_V1_GoAway()
        away.timeLeftMs = 5000
        bodies.append(.goAway(away))
        var error = Microturn_Link_V1_Error()
        error.code = .outOfOrder
        error.message = "frame 7 where 6 was due"
        bodies.append(.error(error))
        return bodies.enumerated().map { i, body in
            var f = LinkFrame()
            f.seq = UInt64(k * 100 + i)
            f.ack = UInt64(k)
            f.body = body
            return f
        }
    }

    @Test(arguments: [0, 1, 7, 130, 4242])
    func everyMessageRoundTripsWholeAndByteByByte(k: Int) throws {
        let frames = Self.everyBody(k)
        let bytes = try frames.flatMap { try FrameCodec.encode($0) }
        var whole = FrameCodec.Decoder()
        whole.feed(bytes)
        var decoded: [LinkFrame] = []
        while let f = try whole.next() { decoded.append(f) }
        #expect(decoded == frames)
        #expect(whole.pending == 0)
        var trickle = FrameCodec.Decoder()
        var again: [LinkFrame] = []
        for b in bytes {
            trickle.feed([b])
            while let f = try trickle.next() { again.append(f) }
        }
        #expect(again == frames)
    }

    @Test func whatIsNotAFrameIsAnErrorAndTheDecoderStaysBroken() throws {
        func first(_ bytes: [UInt8]) -> LinkError? {
            var d = FrameCodec.Decoder()
            d.feed(bytes)
            do { _ = try d.next(); return nil } catch { return error }
        }
        #expect(first([0x00]) == .frameInvalid(reason: "a frame of 0 bytes"))
        #expect(first([0xff, 0xff, 0xff, 0x01]) == .frameInvalid(reason: "a length of more than 3 bytes"))
        #expect(first([0x81, 0x80, 0x04]) == .frameTooLarge(bytes: 65_537))
        guard case .frameInvalid = first([0x02, 0xff, 0xff]) else { Issue.record("garbage payload decoded"); return }
        guard case .frameInvalid = first([0x02, 0x08, 0x01]) else { Issue.record("a frame without a body decoded"); return }
        // After an error, every call says it again.
        var d = FrameCodec.Decoder()
        d.feed([0x00] + (try FrameCodec.encode(Self.everyBody(1)[0])))
        #expect(throws: LinkError.self) { try d.next() }
        #expect(throws: LinkError.self) { try d.next() }
        // Too large to send is refused when encoding, too.
        var big = LinkFrame()
        var r = Microturn_Link_V1_Result()
        r.text = String(repeating: "x", count: 70_000)
        big.body = .result(r)
        do {
            _ = try FrameCodec.encode(big)
            Issue.record("a 70 kB frame was encoded")
        } catch {
            guard case let .frameTooLarge(bytes) = error, bytes > 70_000 else { Issue.record("\(error)"); return }
        }
    }

    /// Random bytes (a fixed seed, many lengths) never crash the decoder.
    @Test func randomBytesNeverCrashTheDecoder() {
        var rng = SplitMix(seed: 11)
        for _ in 0..<2000 {
            var d = FrameCodec.Decoder()
            d.feed((0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            for _ in 0..<4 { _ = try? d.next() }
        }
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
