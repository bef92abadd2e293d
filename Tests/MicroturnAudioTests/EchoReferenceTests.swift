import MicroturnAudio
import MicroturnCore
import Testing
import TestSupport

/// The echo canceller's reference when the processing loop falls behind: lost blocks become
/// silence at their own stream positions, and everything after them stays where it was played.
@Suite(.ownThreads) struct EchoReferenceTests {
    /// Block k (of 10 samples) holds the values 1000k + i: where a sample lands says where it was played.
    static func block(_ k: Int) -> [Float] { (0..<10).map { Float(1000 * k + $0) } }

    @Test func lostBlocksAreSilenceAtTheirPositionsAndLaterSamplesStayAligned() {
        let rings = EchoReference.Rings(capacity: 30)
        var writer = EchoReference.Writer(rings: rings)
        var reader = EchoReference.Reader(rings: rings)
        var closed: [Int?] = []
        // Blocks 0-2 fill the ring; 3 and 4 are lost (the reader is behind); then the reader
        // catches up and 5 and 6 are written after the gap's record.
        for k in 0..<5 { closed.append(Self.block(k).withUnsafeBufferPointer { writer.write($0, at: 10 * k) }) }
        #expect(writer.lost == 20)
        reader.collect()
        for k in 5..<7 { closed.append(Self.block(k).withUnsafeBufferPointer { writer.write($0, at: 10 * k) }) }
        #expect(closed == [nil, nil, nil, nil, nil, 20, nil], "the gap is reported when the next block is written")
        reader.collect()
        #expect(reader.end == 70)
        var played = [Float](repeating: -1, count: 10)
        for k in 0..<7 {
            reader.take(from: 10 * k, into: &played)
            #expect(played == (k == 3 || k == 4 ? [Float](repeating: 0, count: 10) : Self.block(k)), "block \(k)")
        }
    }
}
