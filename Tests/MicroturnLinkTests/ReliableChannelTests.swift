import Foundation
import MicroturnLink
import Testing
import TestSupport

/// The reliability layer between two ends, with connections broken at chosen points: every
/// reliable frame is handed on once and in order, whatever was lost on the way.
@Suite(.ownThreads) struct ReliableChannelTests {
    static func task(_ id: Int) -> LinkBody {
        var t = Microturn_Link_V1_Task()
        t.taskID = "t\(id)"
        return .task(t)
    }

    static func audio(_ k: Int) -> LinkBody {
        var a = Microturn_Link_V1_Audio()
        a.streamID = "u1"
        a.firstPacket = UInt32(k)
        a.opus = [Data(repeating: 1, count: 40)]
        return .audio(a)
    }

    /// `a`'s next reliable frame, which the test knows it may send.
    static func must(_ a: inout ReliableChannel, _ body: LinkBody) throws -> LinkFrame {
        let frame = a.send(body, now: 0)
        return try #require(frame)
    }

    /// Sends 100 tasks from a to b over a link that loses every frame after the 7th of each
    /// connection, and half of the acks; after each break both sides resume. b gets each task
    /// exactly once, in order.
    @Test func everyTaskArrivesOnceThroughBrokenConnections() throws {
        var a = ReliableChannel(), b = ReliableChannel()
        var delivered: [String] = []
        var toSend = (1...100).map(Self.task)
        var connections = 0
        var now: UInt64 = 0
        while delivered.count < 100 {
            connections += 1
            // Resume: each side tells the other what it has; a sends again what b lacks.
            var wire = try a.replay(after: b.received, now: now)
            _ = try b.replay(after: a.received, now: now)
            while a.canSend, !toSend.isEmpty, let f = a.send(toSend.removeFirst(), now: now) { wire.append(f) }
            // This connection carries 7 frames, then breaks; what was on it after that is lost.
            for f in wire.prefix(7) {
                if case let .task(t)? = try b.receive(f, now: now) { delivered.append(t.taskID) }
            }
            // b's ack reaches a before the break on every other connection only: otherwise a sends
            // again, on resume, frames that b already has (and drops).
            if connections % 2 == 1 { _ = try a.receive(b.control(.ackOnly(.init())), now: now) }
            now += 1000
            #expect(connections < 100, "no progress")
            if connections >= 100 { break }
        }
        #expect(delivered == (1...100).map { "t\($0)" })
        #expect(a.inFlight == 0)
    }

    @Test func duplicatesAreDroppedAndGapsRefused() throws {
        var a = ReliableChannel(), b = ReliableChannel()
        let f1 = try Self.must(&a, Self.task(1)), f2 = try Self.must(&a, Self.task(2))
        let f3 = try Self.must(&a, Self.task(3))
        #expect(try b.receive(f1, now: 0) != nil)
        #expect(try b.receive(f1, now: 0) == nil, "a replayed duplicate is not handed on again")
        #expect(throws: LinkError.outOfOrder(expected: 2, got: 3)) { try b.receive(f3, now: 0) }
        #expect(try b.receive(f2, now: 0) != nil)
        // An ack for frames never sent is refused.
        var bogus = LinkFrame()
        bogus.ack = 99
        bogus.body = .ackOnly(.init())
        #expect(throws: LinkError.ackBeyondSent(ack: 99, sent: 0)) { try b.receive(bogus, now: 0) }
    }

    @Test func theWindowLimitsWhatIsInFlightAndCreditOpensIt() throws {
        var a = ReliableChannel(peerWindow: 3), b = ReliableChannel()
        var sent: [LinkFrame] = []
        while let f = a.send(Self.task(sent.count + 1), now: 0) { sent.append(f) }
        #expect(sent.count == 3 && !a.canSend)
        for f in sent { _ = try b.receive(f, now: 0) }
        var credit = Microturn_Link_V1_Credit()
        credit.window = 5
        _ = try a.receive(b.control(.credit(credit)), now: 0)
        #expect(a.inFlight == 0)
        var more = 0
        while a.send(Self.task(10 + more), now: 0) != nil { more += 1 }
        #expect(more == 5)
    }

    /// Speech not acknowledged for longer than its age limit is replaced by EXPIRED in a replay,
    /// under the same number, so the stream has no gap and nothing stale is sent.
    @Test func staleAudioIsReplayedAsExpired() throws {
        var a = ReliableChannel(limits: .init(maxAudioAgeUs: 2_000_000))
        _ = a.send(Self.audio(0), now: 0)
        _ = a.send(Self.task(1), now: 0)
        _ = a.send(Self.audio(1), now: 2_500_000)
        let replay = try a.replay(after: 0, now: 3_000_000)
        #expect(replay.map(\.seq) == [1, 2, 3])
        guard case let .expired(e)? = replay[0].body else { Issue.record("old audio sent again: \(replay[0])"); return }
        #expect(e.packets == 1 && e.streamID == "u1")
        guard case .task? = replay[1].body, case .audio? = replay[2].body else { Issue.record("\(replay)"); return }
        // A peer that claims less than it acknowledged before has lost its state.
        _ = try a.replay(after: 2, now: 3_000_000)
        #expect(throws: LinkError.cannotReplay(from: 2, oldest: 3)) { try a.replay(after: 1, now: 3_000_000) }
    }

    @Test func anAckOnlyFrameIsDueAfterTwentyFramesOrAHundredMilliseconds() throws {
        var a = ReliableChannel(), b = ReliableChannel()
        _ = try b.receive(Self.must(&a, Self.task(1)), now: 0)
        #expect(!b.ackDue(now: 50_000))
        #expect(b.ackDue(now: 100_000))
        _ = b.control(.ackOnly(.init()))
        for k in 2...20 { _ = try b.receive(Self.must(&a, Self.task(k)), now: 0) }
        #expect(!b.ackDue(now: 0))
        _ = try b.receive(Self.must(&a, Self.task(21)), now: 0)
        #expect(b.ackDue(now: 0), "20 frames since the last ack")
    }
}
