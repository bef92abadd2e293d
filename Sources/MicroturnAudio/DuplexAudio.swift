import Foundation
import MicroturnCore
import Synchronization

/// Capture and playback running at the same time, each on its own thread doing blocking ALSA I/O,
/// joined to the processing loop by lock-free rings of 16 kHz mono samples:
///
///   capture thread  --captured-->  processing loop  --speech-->  playback thread
///                                        ^-------- reference (what playback wrote) --'
///
/// Time is the capture clock: sample n of `captured` was heard at time n. Playback stream sample k
/// is heard at capture time k + `referenceOffset` (exactly 0 for virtual PCMs), which is what lets
/// the echo canceller line the reference up with the microphone.
public final class DuplexAudio: Sendable {
    public struct Endpoint: Sendable {
        public var name: String
        public var request: AlsaPCM.Request
        /// An in-memory ALSA definition (`VirtualPCM`), or nil for the system's devices.
        public var definition: String?
        public init(name: String, request: AlsaPCM.Request, definition: String? = nil) {
            self.name = name
            self.request = request
            self.definition = definition
        }
    }

    public struct Setup: Sendable {
        public var capture: Endpoint
        public var playback: Endpoint
        public var pacing: Pacing
        /// For file input: device frames of real input. After them capture delivers silence
        /// (the `file` plugin gives no end of file, so the count is kept here).
        public var inputFrames: Int?
        public var reopenMaxSeconds: Double

        public init(capture: Endpoint, playback: Endpoint, pacing: Pacing,
                    inputFrames: Int? = nil, reopenMaxSeconds: Double = 8) {
            self.capture = capture
            self.playback = playback
            self.pacing = pacing
            self.inputFrames = inputFrames
            self.reopenMaxSeconds = reopenMaxSeconds
        }
    }

    public let setup: Setup
    /// Capture thread -> processing loop.
    public let captured = SPSCRing<Float>(capacity: ProcessingFormat.sampleRate * 4, filler: 0)
    /// Processing loop -> playback thread: speech to play.
    public let speech = SPSCRing<Float>(capacity: ProcessingFormat.sampleRate * 2, filler: 0)
    /// Playback thread -> processing loop: every sample written, from playback stream position 0
    /// (with a record of what was lost if the loop fell behind).
    public let reference = EchoReference.Rings(capacity: ProcessingFormat.sampleRate * 4)
    /// How far playback runs ahead of the capture clock (its buffer), in 16 kHz samples.
    public let playbackLead: Int
    /// Playback writes in steps of one period, in 16 kHz samples.
    public let chunk: Int

    /// The gain the playback thread puts on `speech` as it plays it (see `duck`), as Float bits.
    private let playbackGain = Atomic<UInt32>(Float(1).bitPattern)
    /// Gain changes are ramped over this many samples (5 ms), so a duck does not click.
    static let gainRampSamples: Float = 80
    /// A duck the user hears: 10 dB down.
    public static let audibleDuckDb = 10.0
    static let audibleDuck = Float(pow(10, -audibleDuckDb / 20))

    private let processed = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let flushRequests = Atomic<Int>(0)
    private let offset = Atomic<Int>(0)
    private let position = Atomic<Int>(0)
    private let failure = Mutex<AudioError?>(nil)
    private let noteBox = Mutex<[DeviceNote]>([])
    private let progress = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()
    private let startTime = MonotonicClock.now()

    public init(setup: Setup) {
        self.setup = setup
        chunk = max(1, setup.playback.request.periodMs * ProcessingFormat.sampleRate / 1000)
        playbackLead = chunk * setup.playback.request.bufferPeriods
    }

    public func start() {
        for (body, device) in [(captureLoop, setup.capture.name), (playbackLoop, setup.playback.name)] {
            finished.enter()
            Thread.start(named: "microturn-audio", qualityOfService: .userInteractive) { [finished, self] in
                // A sound card's period must never wait for a busy CPU. On files there is no
                // deadline, and real-time threads there would only crowd the machine.
                if setup.pacing == .device { askForRealTimePriority(device: device) }
                body()
                finished.leave()
            }
        }
    }

    /// Real-time scheduling (SCHED_FIFO) for the calling device thread, where the process may have
    /// it (root, CAP_SYS_NICE, or systemd's LimitRTPRIO); where it may not, a notice says so and
    /// the thread goes on at normal priority.
    private func askForRealTimePriority(device: String) {
        var param = sched_param()
        param.sched_priority = Self.realTimePriority
        let status = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param)
        if status != 0 {
            note(.notice, time: captured.totalWritten, device: device,
                 "audio thread at normal priority: SCHED_FIFO \(Self.realTimePriority) refused (\(String(cString: strerror(status)))); "
                 + "allow it with LimitRTPRIO=\(Self.realTimePriority) in the service, or CAP_SYS_NICE")
        }
    }

    /// Above ordinary real-time helpers, below the kernel's own threaded interrupts (50).
    static let realTimePriority: Int32 = 40

    /// Stops both threads and waits for them to close their devices.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        progress.signal()
        finished.wait()
    }

    /// The processing loop has handled capture samples up to `sample` (exclusive).
    public func markProcessed(upTo sample: Int) {
        processed.store(sample, ordering: .releasing)
        progress.signal()
    }

    /// Plays what is queued in `speech` `db` below its level (0: as it is) from the next period on:
    /// the device yields under a user who starts to talk over it, heard after only the device's
    /// own buffer, not after the seconds of speech already queued. The echo reference gets the
    /// ducked samples, as the loudspeaker does.
    public func duck(db: Double) {
        playbackGain.store(Float(pow(10, -max(0, db) / 20)).bitPattern, ordering: .releasing)
    }

    /// Cuts playback short: what is queued in `speech` is dropped at the next period.
    public func flushPlayback() { flushRequests.add(1, ordering: .releasing) }

    /// Capture time of playback stream sample 0.
    public var referenceOffset: Int { offset.load(ordering: .acquiring) }

    /// Playback stream samples written so far.
    public var playbackPosition: Int { position.load(ordering: .acquiring) }

    /// Why a device thread gave up for good (it cannot go on, and reopening would not help); the
    /// session ends with this error instead of waiting for audio that will never come.
    public var failed: AudioError? { failure.withLock { $0 } }

    private func fail(_ error: AudioError, device: String) {
        failure.withLock { if $0 == nil { $0 = error } }
        note(.error, time: captured.totalWritten, device: device, "\(error)")
    }

    public func takeNotes() -> [DeviceNote] {
        noteBox.withLock { notes in
            defer { notes.removeAll() }
            return notes
        }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func note(_ kind: DeviceNote.Kind, time: Int, device: String, _ message: String = "") {
        noteBox.withLock { $0.append(DeviceNote(time: time, kind: kind, device: device, message: message)) }
    }

    /// Opens a device, retrying with exponential backoff until it opens or the session stops.
    private func open(_ endpoint: Endpoint, _ direction: AlsaPCM.Direction) -> AlsaPCM? {
        var wait = 0.25
        var failed = false
        while !isStopping {
            do {
                let pcm = try AlsaPCM(name: endpoint.name, direction: direction, request: endpoint.request,
                                      definition: endpoint.definition)
                if failed { note(.reopened, time: captured.totalWritten, device: endpoint.name, "device is back") }
                return pcm
            } catch {
                failed = true
                note(.error, time: captured.totalWritten, device: endpoint.name,
                     "\(error) (retrying in \(String(format: "%.2g", wait)) s)")
                let deadline = MonotonicClock.now() + UInt64(wait * 1e9)
                while !isStopping && MonotonicClock.now() < deadline { usleep(20_000) }
                wait = min(wait * 2, setup.reopenMaxSeconds)
            }
        }
        return nil
    }

    private func captureLoop() {
        var deviceFrames = 0
        var mono: [Float] = []
        var out: [Float] = []
        while !isStopping, let pcm = open(setup.capture, .capture) {
            let p = pcm.parameters
            let resampler: Resampler
            do { resampler = try Resampler(from: p.rate, to: ProcessingFormat.sampleRate) } catch {
                fail(.dsp(reason: "capture from '\(pcm.name)' cannot start: no resampler from \(p.rate) Hz (\(error))"), device: pcm.name)
                return
            }
            let bytes = p.periodFrames * p.bytesPerFrame
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
            defer { buffer.deallocate() }
            var xruns = 0
            while !isStopping {
                buffer.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
                do { try pcm.read(into: buffer, frames: p.periodFrames) } catch {
                    note(.error, time: captured.totalWritten, device: pcm.name, "\(error); reopening")
                    break
                }
                if pcm.xruns != xruns {
                    xruns = pcm.xruns
                    note(.xrun, time: captured.totalWritten, device: pcm.name, "capture overrun \(xruns), recovered")
                }
                if let limit = setup.inputFrames {
                    let real = max(0, min(p.periodFrames, limit - deviceFrames))
                    if real < p.periodFrames {
                        buffer.advanced(by: real * p.bytesPerFrame)
                            .initializeMemory(as: UInt8.self, repeating: 0, count: (p.periodFrames - real) * p.bytesPerFrame)
                    }
                }
                deviceFrames += p.periodFrames
                SampleConversion.toMono(buffer, frames: p.periodFrames, channels: p.channels, format: p.format, into: &mono)
                out.removeAll(keepingCapacity: true)
                mono.withUnsafeBufferPointer { resampler.process($0, appendingTo: &out) }
                switch setup.pacing {
                case .realTime:
                    MonotonicClock.sleep(until: startTime + UInt64(Double(deviceFrames) * 1e9 / Double(p.rate)))
                case .virtualClock:
                    while !isStopping && !captured.waitForSpace(out.count, timeoutMs: 50) {}
                case .device:
                    break
                }
                let written = captured.write(out)
                if written < out.count {
                    note(.xrun, time: captured.totalWritten, device: pcm.name,
                         "processing fell behind: dropped \(out.count - written) captured samples")
                }
            }
        }
    }

    private func playbackLoop() {
        var position = 0  // playback stream samples written so far (16 kHz)
        var echoReference = EchoReference.Writer(rings: reference)
        var speaking = false
        var flushesSeen = 0
        var block = [Float](repeating: 0, count: chunk)
        var gain: Float = 1
        var deviceSamples: [Float] = []
        let frame = ProcessingFormat.frameSamples
        while !isStopping, let pcm = open(setup.playback, .playback) {
            let p = pcm.parameters
            let resampler: Resampler
            do { resampler = try Resampler(from: ProcessingFormat.sampleRate, to: p.rate) } catch {
                fail(.dsp(reason: "playback to '\(pcm.name)' cannot start: no resampler to \(p.rate) Hz (\(error))"), device: pcm.name)
                return
            }
            if setup.pacing == .device {
                // Samples written now are heard after what the device already holds.
                let queued = pcm.delay() * ProcessingFormat.sampleRate / p.rate
                offset.store(captured.totalWritten + queued - position, ordering: .releasing)
            }
            var raw = UnsafeMutableRawPointer.allocate(byteCount: (chunk * p.rate / ProcessingFormat.sampleRate + 64) * p.bytesPerFrame, alignment: 16)
            var rawCapacity = chunk * p.rate / ProcessingFormat.sampleRate + 64
            defer { raw.deallocate() }
            var xruns = 0
            while !isStopping {
                switch setup.pacing {
                case .virtualClock:
                    while !isStopping && processed.load(ordering: .acquiring) + frame + playbackLead < position + chunk {
                        _ = progress.wait(timeout: .now() + .milliseconds(50))
                    }
                case .realTime:
                    let due = max(0, position + chunk - playbackLead)
                    MonotonicClock.sleep(until: startTime + UInt64(due) * 1_000_000_000 / UInt64(ProcessingFormat.sampleRate))
                case .device:
                    break
                }
                if isStopping { break }
                let t = position + offset.load(ordering: .relaxed)
                let flushes = flushRequests.load(ordering: .acquiring)
                if flushes != flushesSeen {
                    flushesSeen = flushes
                    speech.discardAll()
                    if speaking {
                        speaking = false
                        note(.playbackStop(flushed: true), time: t, device: pcm.name)
                    }
                }
                let n = block.withUnsafeMutableBufferPointer { speech.read(into: $0) }
                if n > 0 && !speaking {
                    speaking = true
                    note(.playbackStart, time: t, device: pcm.name)
                }
                let target = Float(bitPattern: playbackGain.load(ordering: .acquiring))
                if gain != 1 || target != 1 {
                    let step = 1 / Self.gainRampSamples
                    for i in 0..<n {
                        let before = gain
                        gain += max(-step, min(step, target - gain))
                        block[i] *= gain
                        if before > Self.audibleDuck && gain <= Self.audibleDuck { note(.ducked, time: t + i, device: pcm.name) }
                    }
                }
                if n < chunk {
                    for i in n..<chunk { block[i] = 0 }
                    if speaking {
                        speaking = false
                        note(.playbackStop(flushed: false), time: t + n, device: pcm.name)
                    }
                }
                deviceSamples.removeAll(keepingCapacity: true)
                block.withUnsafeBufferPointer { resampler.process($0, appendingTo: &deviceSamples) }
                if deviceSamples.count > rawCapacity {
                    raw.deallocate()
                    rawCapacity = deviceSamples.count
                    raw = UnsafeMutableRawPointer.allocate(byteCount: rawCapacity * p.bytesPerFrame, alignment: 16)
                }
                deviceSamples.withUnsafeBufferPointer {
                    SampleConversion.fromMono($0, channels: p.channels, format: p.format, into: raw)
                }
                do { try pcm.write(from: raw, frames: deviceSamples.count) } catch {
                    note(.error, time: t, device: pcm.name, "\(error); reopening")
                    break
                }
                if pcm.xruns != xruns {
                    xruns = pcm.xruns
                    note(.xrun, time: t, device: pcm.name, "playback underrun \(xruns), recovered")
                }
                let closed = block.withUnsafeBufferPointer { echoReference.write($0, at: position) }
                if let closed {
                    note(.xrun, time: t, device: pcm.name,
                         "echo reference: processing fell behind and \(closed) samples of what was played were lost "
                         + "(\(echoReference.lost) in all); the canceller is realigned")
                }
                position += chunk
                self.position.store(position, ordering: .releasing)
            }
        }
    }
}
