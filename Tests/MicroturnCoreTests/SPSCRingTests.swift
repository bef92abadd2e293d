import Foundation
import MicroturnCore
import Testing
import TestSupport

@Suite(.ownThreads) struct SPSCRingTests {
    @Test func wrapsAroundAndKeepsOrder() {
        let ring = SPSCRing<Int32>(capacity: 5, filler: 0)
        #expect(ring.write([1, 2, 3]) == 3)
        var out = [Int32](repeating: 0, count: 2)
        #expect(out.withUnsafeMutableBufferPointer { ring.read(into: $0) } == 2)
        #expect(out == [1, 2])
        #expect(ring.write([4, 5, 6, 7, 8]) == 4, "only the free space is written")
        var rest = [Int32](repeating: 0, count: 10)
        let n = rest.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        #expect(Array(rest[0..<n]) == [3, 4, 5, 6, 7])
        #expect(ring.count == 0)
        #expect(ring.totalWritten == 7 && ring.totalConsumed == 7)
    }

    @Test func discardAllDropsWhatIsQueued() {
        let ring = SPSCRing<Float>(capacity: 8, filler: 0)
        ring.write([1, 2, 3])
        #expect(ring.discardAll() == 3)
        #expect(ring.count == 0)
    }

    @Test func transfersAcrossThreadsWithoutLossOrReordering() async {
        let ring = SPSCRing<Int64>(capacity: 1000, filler: 0)
        let total: Int64 = 200_000
        let producer = Thread {
            var next: Int64 = 0
            var chunk = [Int64](repeating: 0, count: 97)
            while next < total {
                let n = Int(min(Int64(chunk.count), total - next))
                for i in 0..<n { chunk[i] = next + Int64(i) }
                var sent = 0
                while sent < n {
                    sent += chunk.withUnsafeBufferPointer { ring.write(UnsafeBufferPointer(rebasing: $0[sent..<n])) }
                    if sent < n { _ = ring.waitForSpace(1, timeoutMs: 10) }
                }
                next += Int64(n)
            }
        }
        producer.start()
        var expected: Int64 = 0
        var buffer = [Int64](repeating: 0, count: 61)
        var ordered = true
        while expected < total {
            _ = ring.waitForData(1, timeoutMs: 10)
            let n = buffer.withUnsafeMutableBufferPointer { ring.read(into: $0) }
            for i in 0..<n where buffer[i] != expected + Int64(i) { ordered = false }
            expected += Int64(n)
        }
        #expect(ordered)
        #expect(expected == total)
    }
}
