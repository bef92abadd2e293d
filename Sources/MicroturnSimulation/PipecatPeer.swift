import Foundation
import MicroturnCore
import MicroturnInteraction

/// Pipecat's turn stack (Silero VAD + Smart Turn v3.2 from the pipecat-ai wheel) as a peer: its
/// turn starts and ends on every dialog of a folder, decided by tools/pipecat-peer.py in the
/// Python environment tools/setup.sh --peers makes, for the benchmark to act on in its simulation.
public struct PipecatPeer: Sendable {
    /// What the peer is (name and version, from the wheel).
    public var name: String
    /// Smart Turn's own compute time per call on this machine, ms (not added to its decisions).
    public var computeP50Ms: Double?
    public var computeP95Ms: Double?
    public var calls: Int
    /// Each dialog's turn starts and ends, by name (dialog-NNN).
    public var marks: [String: [ScheduledTurnPolicy.Mark]]

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The peer cannot run here (not set up, or it failed), as opposed to output it cannot read.
        public var unavailable: Bool
    }

    /// The session that acts on the peer's decisions: Pipecat has no local commands, no murmurs
    /// and no turn-end model of its own, and stops its bot at once.
    public static func sessionConfig(_ base: MicroturnConfig) -> MicroturnConfig {
        var c = base
        c.turn.predict = false
        c.turn.backchannel = false
        c.commands.enabled = false
        c.bargeIn.stopAfterMs = 0
        return c
    }

    /// Runs `script` with `python` on every dialog in `dialogs`; what it writes goes to `out`.
    public static func run(python: String, script: String, dialogs: String, out: String) throws -> PipecatPeer {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failure(description: "\(python): no Python with pipecat-ai here; set it up with tools/setup.sh --peers (or give --peer-python)",
                          unavailable: true)
        }
        let r = try ChildProcess.run(python, [script, "--dialogs", dialogs, "--out", out])
        guard r.status == 0 else {
            throw Failure(description: "\(script): the Pipecat peer failed (exit \(r.status)); its message is above", unavailable: true)
        }
        return try read(path: out)
    }

    /// The peer's JSON, as tools/pipecat-peer.py writes it.
    public static func read(path: String) throws -> PipecatPeer {
        struct File: Decodable {
            struct Compute: Decodable { var calls: Int; var p50: Double?; var p95: Double? }
            struct Mark: Decodable { var kind: String; var at: Int; var speechStart: Int; var speechEnd: Int? }
            var peer: String
            var smart_turn_ms: Compute
            var dialogs: [String: [Mark]]
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw Failure(description: "\(path): not the Pipecat peer's output (\(error)); run tools/pipecat-peer.py again", unavailable: false)
        }
        var marks: [String: [ScheduledTurnPolicy.Mark]] = [:]
        for (name, list) in file.dialogs {
            marks[name] = try list.map { m in
                switch (m.kind, m.speechEnd) {
                case ("start", _): return .start(at: m.at, speechStart: m.speechStart)
                case let ("end", end?): return .end(at: m.at, speechStart: m.speechStart, speechEnd: end)
                default: throw Failure(description: "\(path): \(name) has a mark of kind '\(m.kind)' (start, or end with speechEnd)",
                                       unavailable: false)
                }
            }
        }
        return PipecatPeer(name: file.peer, computeP50Ms: file.smart_turn_ms.p50, computeP95Ms: file.smart_turn_ms.p95,
                           calls: file.smart_turn_ms.calls, marks: marks)
    }
}
