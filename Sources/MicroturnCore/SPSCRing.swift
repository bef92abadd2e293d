import Dispatch
import Synchronization

/// A lock-free single-producer/single-consumer ring of plain values.
///
/// Device threads hand audio to the processing loop through these rings, so neither side ever
/// takes a lock on the audio path. Exactly one thread may call the producer methods (`write`,
/// `waitForSpace`) and exactly one the consumer methods (`read`, `peek`, `discard`, `waitForData`).
/// The semaphores only wake a side that chose to wait; the ring itself never blocks.
/// (Unchecked Sendable: `storage` is shared memory, and it is safe under that one-producer,
/// one-consumer rule: a slot is written only between `consumed` and `written + capacity` and read
/// only after the releasing store of `written` that published it.)
public final class SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
    public let capacity: Int
    private let storage: UnsafeMutablePointer<Element>
    private let written = Atomic<Int>(0)  // total elements ever written (producer owns)
    private let consumed = Atomic<Int>(0)  // total elements ever read (consumer owns)
    private let dataSignal = DispatchSemaphore(value: 0)
    private let spaceSignal = DispatchSemaphore(value: 0)

    public init(capacity: Int, filler: Element) {
        precondition(capacity > 0, "ring capacity must be positive")
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: filler, count: capacity)
    }

    deinit { storage.deallocate() }

    /// Elements ready to read (exact for the consumer, a lower bound for the producer).
    public var count: Int { written.load(ordering: .acquiring) - consumed.load(ordering: .acquiring) }
    public var freeSpace: Int { capacity - count }
    /// Total elements ever written: the producer's position in the stream.
    public var totalWritten: Int { written.load(ordering: .acquiring) }
    /// Total elements ever consumed: the consumer's position in the stream.
    public var totalConsumed: Int { consumed.load(ordering: .acquiring) }

    /// Producer: copies as much of `source` as fits and returns how many were written.
    @discardableResult
    public func write(_ source: UnsafeBufferPointer<Element>) -> Int {
        let head = written.load(ordering: .relaxed)
        let tail = consumed.load(ordering: .acquiring)
        let n = min(source.count, capacity - (head - tail))
        guard n > 0, let base = source.baseAddress else { return 0 }
        let start = head % capacity
        let first = min(n, capacity - start)
        (storage + start).update(from: base, count: first)
        if n > first { storage.update(from: base + first, count: n - first) }
        written.store(head + n, ordering: .releasing)
        dataSignal.signal()
        return n
    }

    @discardableResult
    public func write(_ array: [Element]) -> Int {
        array.withUnsafeBufferPointer { write($0) }
    }

    /// Consumer: copies up to `destination.count` elements out and returns how many were read.
    @discardableResult
    public func read(into destination: UnsafeMutableBufferPointer<Element>) -> Int {
        let n = copyOut(into: destination)
        if n > 0 { advance(by: n) }
        return n
    }

    /// Consumer: drops everything currently readable (used to cut playback short).
    @discardableResult
    public func discardAll() -> Int {
        let n = count
        if n > 0 { advance(by: n) }
        return n
    }

    /// Consumer: waits until at least `minimum` elements are readable or the timeout passes.
    /// Returns true when the data is there.
    public func waitForData(_ minimum: Int, timeoutMs: Int) -> Bool {
        let deadline = DispatchTime.now() + .milliseconds(timeoutMs)
        while count < minimum {
            if dataSignal.wait(timeout: deadline) == .timedOut { return count >= minimum }
        }
        return true
    }

    /// Producer: waits until at least `minimum` elements of space are free or the timeout passes.
    public func waitForSpace(_ minimum: Int, timeoutMs: Int) -> Bool {
        let deadline = DispatchTime.now() + .milliseconds(timeoutMs)
        while freeSpace < minimum {
            if spaceSignal.wait(timeout: deadline) == .timedOut { return freeSpace >= minimum }
        }
        return true
    }

    private func copyOut(into destination: UnsafeMutableBufferPointer<Element>) -> Int {
        let tail = consumed.load(ordering: .relaxed)
        let head = written.load(ordering: .acquiring)
        let n = min(destination.count, head - tail)
        guard n > 0, let base = destination.baseAddress else { return 0 }
        let start = tail % capacity
        let first = min(n, capacity - start)
        base.update(from: storage + start, count: first)
        if n > first { (base + first).update(from: storage, count: n - first) }
        return n
    }

    private func advance(by n: Int) {
        consumed.store(consumed.load(ordering: .relaxed) + n, ordering: .releasing)
        spaceSignal.signal()
    }
}
