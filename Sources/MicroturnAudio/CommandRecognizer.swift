import CPocketSphinx
import Foundation
import MicroturnCore

/// Offline recognition of spoken commands with PocketSphinx, constrained by a JSGF grammar of the
/// configured phrases. Speech outside the grammar is rejected, not forced onto the nearest command:
/// a second decoder hears the same audio as a free run of common English words (without the
/// command words), and the command is accepted only when it explains the audio at least as well as
/// that, by `margin` (log-likelihood per 10 ms frame) plus `marginPerWord` for each word after the
/// first (a phrase of several words that was really said beats word soup by far more than a
/// one-word command does, and a long sentence can otherwise pass for "what time is it"), and when its words span most of the
/// loud part of the utterance (the grammar can otherwise call the rest of a sentence noise).
///
/// Streaming: `begin`, then `feed` 16 kHz audio as it is heard, then `finish` at the end of the
/// turn; the decoding work is spread over the utterance, so finishing is quick.
public final class CommandRecognizer {
    public struct Result: Sendable, Equatable {
        /// The command heard, or nil when the utterance was not (only) a command.
        public var phrase: String?
        /// What the decoder heard, command or not ("" for nothing).
        public var heard: String
        /// Command score minus other-speech score, per 10 ms frame (higher is surer).
        public var confidence: Double
        public var accepted: Bool { phrase != nil }
    }

    public static let defaultModel = "/usr/share/pocketsphinx/model/en-us"

    public let phrases: [String]
    public let margin: Double
    public let marginPerWord: Double
    private let decoder: OpaquePointer
    private let other: OpaquePointer
    private var samples = 0
    private var frameLevels: [Double] = []  // per 10 ms, dBFS
    private var active = false
    private var scratch: [Int16] = []
    /// The first PocketSphinx call that failed since the last `takeError` (the utterance is then
    /// judged on what was decoded, and the failure is reported, not swallowed).
    private var failure: String?

    public init(phrases: [String], margin: Double = 0.3, marginPerWord: Double = 0.25,
                modelDirectory: String = CommandRecognizer.defaultModel) throws(AudioError) {
        self.phrases = phrases.map { $0.lowercased() }
        self.margin = margin
        self.marginPerWord = marginPerWord
        let hmm = "\(modelDirectory)/en-us", dict = "\(modelDirectory)/cmudict-en-us.dict"
        for path in [hmm, dict] where !FileManager.default.fileExists(atPath: path) {
            throw .speech(reason: "PocketSphinx model file \(path) is missing; install pocketsphinx-en-us (apt-get install pocketsphinx-en-us)")
        }
        guard !phrases.isEmpty else { throw .speech(reason: "no command phrases configured") }
        // Only the words the grammars use: loading all of cmudict costs a second and 40 MB per decoder.
        let commandWords = Set(self.phrases.flatMap { $0.split(separator: " ").map(String.init) } + ["please"])
        let (entries, missing) = Self.pronunciations(of: commandWords.union(OtherSpeech.words), dictionary: dict)
        let unknown = missing.intersection(commandWords)
        let (commands, otherSpeech) = Self.grammars(for: self.phrases, otherWords: OtherSpeech.words.filter { !missing.contains($0) })
        guard unknown.isEmpty else {
            throw .speech(reason: "command words not in the pronunciation dictionary: \(unknown.sorted().joined(separator: ", ")); use other words for those commands")
        }
        let smallDict = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-\(getpid())-\(UUID().uuidString).dict").path
        guard FileManager.default.createFile(atPath: smallDict, contents: Data(entries.joined(separator: "\n").utf8)) else {
            throw .fileIO(path: smallDict, reason: "cannot write the command dictionary")
        }
        defer { try? FileManager.default.removeItem(atPath: smallDict) }
        guard let d = Self.makeDecoder(hmm: hmm, dict: smallDict), let o = Self.makeDecoder(hmm: hmm, dict: smallDict) else {
            throw .speech(reason: "PocketSphinx failed to start with the model in \(modelDirectory)")
        }
        decoder = d
        other = o
        guard ps_set_jsgf_string(d, "commands", commands) == 0, ps_set_search(d, "commands") == 0,
              ps_set_jsgf_string(o, "other", otherSpeech) == 0, ps_set_search(o, "other") == 0 else {
            ps_free(d)
            ps_free(o)
            throw .speech(reason: "PocketSphinx rejected the command grammar built from \(phrases)")
        }
    }

    deinit {
        ps_free(decoder)
        ps_free(other)
    }

    /// Starts a new utterance (a running one is dropped).
    public func begin() {
        if active { _ = finish() }
        check(ps_start_utt(decoder), "ps_start_utt")
        check(ps_start_utt(other), "ps_start_utt")
        samples = 0
        frameLevels.removeAll(keepingCapacity: true)
        active = true
    }

    public func feed(_ audio: [Float]) {
        guard active, !audio.isEmpty else { return }
        scratch.removeAll(keepingCapacity: true)
        for x in audio { scratch.append(SampleConversion.int16(x)) }
        scratch.withUnsafeBufferPointer { p in
            check(ps_process_raw(decoder, p.baseAddress, p.count, 0, 0), "ps_process_raw")
            check(ps_process_raw(other, p.baseAddress, p.count, 0, 0), "ps_process_raw")
        }
        samples += audio.count
        for start in stride(from: 0, to: audio.count - 159, by: 160) {
            var e: Float = 0
            for x in audio[start..<start + 160] { e += x * x }
            frameLevels.append(10 * log10(max(Double(e) / 160, 1e-10)))
        }
    }

    /// The command the utterance so far amounts to, if it is exactly one and passes the same checks
    /// as at the end (for deciding the turn is over sooner). Commands are short: after 2.5 s of
    /// audio, nothing so far is one.
    public func partialCommand() -> String? {
        guard active, samples <= 40_000 else { return nil }
        return judge().phrase
    }

    /// Ends the utterance and decides.
    public func finish() -> Result {
        guard active else { return Result(phrase: nil, heard: "", confidence: 0) }
        active = false
        check(ps_end_utt(decoder), "ps_end_utt")
        check(ps_end_utt(other), "ps_end_utt")
        return judge()
    }

    /// A PocketSphinx failure since the last call, if any.
    public func takeError() -> AudioError? {
        defer { failure = nil }
        return failure.map { .speech(reason: "PocketSphinx: \($0); this utterance's command may have been missed") }
    }

    private func check(_ status: Int32, _ call: String) {
        if status < 0 && failure == nil { failure = "\(call) failed (\(status))" }
    }

    /// The command decoder's best words, accepted when they beat other speech by `margin` per frame
    /// and span most of the loud audio.
    private func judge() -> Result {
        var commandScore: Int32 = 0, otherScore: Int32 = 0
        let heard = ps_get_hyp(decoder, &commandScore).map { String(cString: $0) } ?? ""
        _ = ps_get_hyp(other, &otherScore)
        // PocketSphinx scores are log base 1.0001, acoustic scores shifted by 10 bits.
        let perFrame = Double(commandScore - otherScore) * 1024 * log(1.0001) / Double(max(1, samples / 160))
        let phrase = command(in: heard)
        let covered = phrase == nil ? 0 : wordCoverage()
        let needed = margin + marginPerWord * Double(max(0, (phrase?.split(separator: " ").count ?? 1) - 1))
        return Result(phrase: perFrame >= needed && covered >= 0.75 ? phrase : nil, heard: heard, confidence: perFrame)
    }

    /// How much of the loud part of the utterance (10 ms frames within 30 dB of the loudest) the
    /// command's words last, capped at 1.
    private func wordCoverage() -> Double {
        guard let loudest = frameLevels.max() else { return 0 }
        var wordFrames = 0
        var seg = ps_seg_iter(decoder)
        while let s = seg {
            let word = String(cString: ps_seg_word(s))
            if !(word.hasPrefix("<") || word.hasPrefix("[") || word.hasPrefix("+") || word.hasPrefix("(")) {
                var first: Int32 = 0, last: Int32 = 0
                ps_seg_frames(s, &first, &last)
                wordFrames += Int(last - first) + 1
            }
            seg = ps_seg_next(s)
        }
        let loud = frameLevels.filter { $0 > loudest - 30 }.count
        return loud == 0 ? 0 : min(1, Double(wordFrames) / Double(loud))
    }

    /// "please stop" -> "stop"; nil when the words are not exactly one command.
    func command(in hypothesis: String) -> String? {
        let words = hypothesis.split(separator: " ").filter { $0 != "please" }.joined(separator: " ")
        return phrases.contains(words) ? words : nil
    }

    /// The command grammar (commands, optionally with "please") and its competitor (any run of
    /// other common words).
    static func grammars(for phrases: [String], otherWords: [String]) -> (commands: String, other: String) {
        let commandWords = Set(phrases.flatMap { $0.split(separator: " ").map(String.init) } + ["please"])
        let filler = otherWords.filter { !commandWords.contains($0) }
        let commands = "#JSGF V1.0;\ngrammar commands;\npublic <command> = [please] ( \(phrases.joined(separator: " | ")) );\n"
        let other = "#JSGF V1.0;\ngrammar other;\npublic <other> = ( \(filler.joined(separator: " | ")) )+;\n"
        return (commands, other)
    }

    /// PocketSphinx logs to one stream for the whole process, and a decoder made with `-logfn`
    /// closes that stream to open its own. Decoders are made on several threads (the command
    /// recognizer on the loop, the transcriber on its own, the server's on its workers), so one could
    /// write to or close a stream another had just closed (free(): invalid pointer, seen in CI).
    /// Its logging is switched off once for the process instead, before the first decoder.
    static let libraryLogOff: Void = err_set_logfp(nil)

    /// A PocketSphinx decoder for 16 kHz speech (`extra`: more of its arguments, e.g. a language model).
    static func makeDecoder(hmm: String, dict: String, extra: [String] = []) -> OpaquePointer? {
        _ = libraryLogOff
        let args = ["microturn", "-hmm", hmm, "-dict", dict, "-samprate", "16000"] + extra
        var argv = args.map { strdup($0) }
        defer { argv.forEach { free($0) } }
        let config = argv.withUnsafeMutableBufferPointer { buf in
            cmd_ln_parse_r(nil, ps_args(), Int32(buf.count), buf.baseAddress, 1)
        }
        guard let config else { return nil }
        defer { cmd_ln_free_r(config) }
        return ps_init(config)
    }

    /// The dictionary lines (with alternative pronunciations) of `words`, and the words it lacks.
    static func pronunciations(of words: Set<String>, dictionary: String) -> (entries: [String], missing: Set<String>) {
        guard let data = FileManager.default.contents(atPath: dictionary) else { return ([], words) }
        var entries: [String] = []
        var found = Set<String>()
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let first = line.split(separator: UInt8(ascii: " ")).first else { continue }
            let word = String(decoding: first, as: UTF8.self)
            let base = word.split(separator: "(").first.map(String.init) ?? word  // "read(2)" -> "read"
            if words.contains(base) {
                entries.append(String(decoding: line, as: UTF8.self))
                found.insert(base)
            }
        }
        return (entries, words.subtracting(found))
    }
}
