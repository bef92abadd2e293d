import MicroturnCore

/// What playback wrote, handed to the processing loop as the echo canceller's reference, in
/// playback stream positions. The playback thread never waits for the processing loop: when the
/// loop falls behind and the ring is full, a block is lost. A lost block must not shift every
/// later sample (the canceller would be misaligned for the rest of the session), so the writer
/// records each gap (stream position, length) in a second ring before the next block it writes,
/// and the reader puts silence of that length back at that position.
public enum EchoReference {
    /// Rings shared by the playback thread (the one producer) and the processing loop (the one consumer).
    public struct Rings: Sendable {
        public let samples: SPSCRing<Float>
        /// Pairs (stream position, length) of lost stretches, in stream order.
        public let gaps: SPSCRing<Int>

        public init(capacity: Int, gapCapacity: Int = 1024) {
            samples = SPSCRing<Float>(capacity: capacity, filler: 0)
            gaps = SPSCRing<Int>(capacity: 2 * max(1, gapCapacity), filler: 0)
        }
    }

    /// The playback thread's side.
    public struct Writer {
        public let rings: Rings
        private var gapStart: Int?
        private var gapLength = 0
        /// Samples lost so far (the processing loop was behind).
        public private(set) var lost = 0

        public init(rings: Rings) { self.rings = rings }

        /// Writes `block`, which starts at playback stream `position`, whole or not at all. Returns
        /// the length of a gap that this write closed (it was recorded before the block), if any.
        public mutating func write(_ block: UnsafeBufferPointer<Float>, at position: Int) -> Int? {
            let gapRecord = gapStart == nil ? 0 : 2
            guard rings.samples.freeSpace >= block.count, rings.gaps.freeSpace >= gapRecord else {
                // Lost: the gap grows (it stays one record however long the loop is behind).
                if gapStart == nil { gapStart = position }
                gapLength += block.count
                lost += block.count
                return nil
            }
            var closed: Int?
            if let start = gapStart {
                rings.gaps.write([start, gapLength])
                closed = gapLength
                gapStart = nil
                gapLength = 0
            }
            rings.samples.write(block)
            return closed
        }
    }

    /// The processing loop's side: what was played at any stream position still held.
    public struct Reader {
        public let rings: Rings
        private var held: [Float] = []
        private var heldStart = 0         // stream position of held[0]
        private var pendingGaps: [(start: Int, length: Int)] = []
        private var scratch = [Float](repeating: 0, count: 4096)
        private var pair = [0, 0]

        public init(rings: Rings) { self.rings = rings }

        /// Takes in what playback wrote since the last call, with silence where it was lost.
        public mutating func collect() {
            // Samples first, then gaps: every gap read now was recorded after the samples before
            // it, so a gap that lies beyond what has arrived waits for its samples.
            var arrived: [Float] = []
            while true {
                let got = scratch.withUnsafeMutableBufferPointer { rings.samples.read(into: $0) }
                if got == 0 { break }
                arrived.append(contentsOf: scratch[0..<got])
            }
            while rings.gaps.count >= 2 {
                pair.withUnsafeMutableBufferPointer { _ = rings.gaps.read(into: $0) }
                pendingGaps.append((pair[0], pair[1]))
            }
            var next = 0  // index into arrived
            while let gap = pendingGaps.first {
                let end = heldStart + held.count
                let before = gap.start - end
                if before < 0 { pendingGaps.removeFirst(); continue }  // the writer never records one
                guard before <= arrived.count - next else { break }
                held.append(contentsOf: arrived[next..<next + before])
                next += before
                held.append(contentsOf: repeatElement(0, count: gap.length))
                pendingGaps.removeFirst()
            }
            held.append(contentsOf: arrived[next...])
        }

        /// Fills `played` with what playback wrote from stream position `position` on (zero where
        /// nothing is known), and forgets everything before it.
        public mutating func take(from position: Int, into played: inout [Float]) {
            let from = position - heldStart
            for i in played.indices {
                let k = from + i
                played[i] = k >= 0 && k < held.count ? held[k] : 0
            }
            let drop = min(max(0, from), held.count)
            held.removeFirst(drop)
            heldStart += drop
        }

        /// Stream position just after the last sample held.
        public var end: Int { heldStart + held.count }
    }
}
