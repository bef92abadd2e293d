import Foundation
import MicroturnAudio
import MicroturnCore

/// A visitor's spoken questions to a kiosk (espeak-ng), each followed by room for the answer, and
/// the kiosk's facts the server is given: the background tier's material for `microturn demo` and
/// `microturn bench background`. Also starts the `microturn-server` they talk to.
public enum KioskDialog {
    public static let facts = """
        [hours]
        weekdays = "We are open from nine to six, Monday to Friday."
        saturday = "On Saturdays we are open from ten to four."
        sunday = "We are closed on Sundays."
        [directions]
        toilets = "The toilets are on the first floor, next to the lifts."
        cafe = "The cafe is on the ground floor, by the main entrance."
        [prices]
        day_pass = "A day pass costs twelve euros."
        children = "Children under twelve go in for free."
        """

    /// Where each line starts and ends in the written file, seconds.
    public struct Timing: Sendable {
        public var starts: [Double] = []
        public var ends: [Double] = []
    }

    /// Writes a second of silence, then each line followed by its seconds of silence, as 16 kHz WAV.
    /// Each line is rendered afresh (`FreshSpeech`), so the dialog is the same every run.
    public static func write(_ lines: [(text: String, roomAfter: Double)], to path: String) throws -> Timing {
        let synthesizer = FreshSpeech(voice: .init())
        var samples = [Float](repeating: 0, count: ProcessingFormat.sampleRate)
        var timing = Timing()
        for (text, room) in lines {
            timing.starts.append(ProcessingFormat.seconds(samples.count))
            samples += try synthesizer.synthesize(text)
            timing.ends.append(ProcessingFormat.seconds(samples.count))
            samples += [Float](repeating: 0, count: ProcessingFormat.samples(seconds: room))
        }
        try WavFile(sampleRate: ProcessingFormat.sampleRate, channels: 1, samples: samples).write(path: path)
        return timing
    }

    /// `microturn-server` from `binaries`, on a free loopback port, plaintext, with its state in
    /// `root`/state-`name`, the facts written to `root`/facts.toml, its log in `root`/server-`name`.log,
    /// and `reasoning` (its backend flags). Started and listening.
    public static func startServer(binaries: String, root: String, name: String, reasoning: [String]) throws -> ServerProcess {
        try facts.write(toFile: root + "/facts.toml", atomically: true, encoding: .utf8)
        let port = ServerProcess.freePort()
        let server = ServerProcess(directory: binaries, arguments: ["serve", "--plaintext", "--listen", "127.0.0.1:\(port)", "--metrics", "",
                                                                    "--state-dir", root + "/state-" + name, "--knowledge", root + "/facts.toml"]
                                       + reasoning, port: port)
        try server.start(log: logPath(root: root, name: name))
        return server
    }

    public static func logPath(root: String, name: String) -> String { root + "/server-\(name).log" }

    /// A device's link settings for a server started here.
    public static func link(to server: ServerProcess, device: String, directory: String) -> MicroturnConfig.Link {
        var link = MicroturnConfig().link
        link.server = "127.0.0.1:\(server.port)"
        link.deviceId = device
        link.plaintext = true
        link.directory = directory
        return link
    }
}
