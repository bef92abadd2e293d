/// The one list of configuration keys: their TOML path, what values they allow, and where they go.
/// Board profiles and config files share it, so both are validated the same way.
public enum ConfigSchema {
    public typealias Key = SettingKey<MicroturnConfig>

    public static let keys: [Key] = [
        .string("board.name", \.board.name),
        .string("board.description", \.board.description),
        .int("board.threads", 1...64, \.board.threads),
        .string("board.camera", allowEmpty: true, \.board.camera),
        .string("board.architecture", oneOf: ["aarch64", "x86_64"], \.board.architecture),
        .int("board.cores", 1...256, \.board.cores),
        .int("board.memory_high_mb", 0...1_048_576, \.board.memoryHighMb),
        .int("board.memory_max_mb", 0...1_048_576, \.board.memoryMaxMb),
        .string("board.thermal_zone", allowEmpty: true, \.board.thermalZone),
        .double("board.thermal_warn_c", 30...150, \.board.thermalWarnC),
        .double("board.thermal_critical_c", 30...150, \.board.thermalCriticalC),
        .string("model.kv_cache", oneOf: ["f16", "f32"], \.model.kvCache),
        .path("model.path", \.model.path),
        .int("model.reply_deadline_ms", 100...2000, \.model.replyDeadlineMs),
        .double("model.words_weight", 0...10, \.model.wordsWeight),
        .double("model.words_center", 0.001...0.999, \.model.wordsCenter),
        .path("model.experts_profile", \.model.expertsProfile),
        .int("model.resident_experts", 0...4096, \.model.residentExperts),
        .string("model.residency", oneOf: ["reroute", "page"], \.model.residency),
        .int("model.expert_cache", 0...1_000_000, \.model.expertCache),
        .string("audio.capture_device", \.audio.captureDevice),
        .string("audio.playback_device", \.audio.playbackDevice),
        .int("audio.rate", 8_000...192_000, \.audio.rate),
        .int("audio.channels", 1...32, \.audio.channels),
        .stringList("audio.formats", oneOf: ["S16_LE", "S32_LE", "FLOAT_LE"], \.audio.formats),
        .int("audio.period_ms", 2...100, \.audio.periodMs),
        .int("audio.buffer_periods", 2...16, \.audio.bufferPeriods),
        .double("audio.reopen_max_seconds", 0.1...600, \.audio.reopenMaxSeconds),
        .bool("echo.enabled", \.echo.enabled),
        .int("echo.tail_ms", 20...1000, \.echo.tailMs),
        .int("echo.suppress_db", -90...0, \.echo.suppressDb),
        .string("vad.method", oneOf: ["adaptive", "energy"], \.vad.method),
        .double("vad.energy_threshold_db", -90...0, \.vad.energyThresholdDb),
        .double("vad.snr_db", 1...40, \.vad.snrDb),
        .int("vad.onset_ms", 20...500, \.vad.onsetMs),
        .int("vad.hangover_ms", 0...1000, \.vad.hangoverMs),
        .int("turn.micro_turn_ms", 40...400, \.turn.microTurnMs),
        .int("turn.end_silence_ms", 60...5000, \.turn.endSilenceMs),
        .bool("turn.predict", \.turn.predict),
        .int("turn.max_silence_ms", 100...5000, \.turn.maxSilenceMs),
        .double("turn.threshold", 0.01...0.99, \.turn.threshold),
        .int("turn.ms_per_logit", 10...2000, \.turn.msPerLogit),
        .bool("turn.backchannel", \.turn.backchannel),
        .int("turn.backchannel_after_ms", 500...30_000, \.turn.backchannelAfterMs),
        .string("speech.voice", \.speech.voice),
        .int("speech.rate_wpm", 80...450, \.speech.rateWpm),
        .int("speech.pitch", 0...99, \.speech.pitch),
        .double("speech.gain_db", -40...12, \.speech.gainDb),
        .bool("barge_in.enabled", \.bargeIn.enabled),
        .int("barge_in.min_speech_ms", 20...1000, \.bargeIn.minSpeechMs),
        .int("barge_in.duck_db", 0...60, \.bargeIn.duckDb),
        .int("barge_in.stop_after_ms", 0...2000, \.bargeIn.stopAfterMs),
        .int("barge_in.words_stop_after_ms", 0...2000, \.bargeIn.wordsStopAfterMs),
        .int("barge_in.resume_within_ms", 0...5000, \.bargeIn.resumeWithinMs),
        .int("barge_in.backchannel_max_ms", 0...2000, \.bargeIn.backchannelMaxMs),
        .bool("commands.enabled", \.commands.enabled),
        .stringList("commands.phrases", oneOf: MicroturnConfig.Commands().phrases, \.commands.phrases),
        .double("commands.margin", -5...5, \.commands.margin),
        .double("commands.margin_per_word", 0...5, \.commands.marginPerWord),
        .int("commands.end_silence_ms", 40...2000, \.commands.endSilenceMs),
        .path("commands.requests_directory", \.commands.requestsDirectory),
        .string("reps.announce", oneOf: ["every", "every5", "off"], \.reps.announce),
        .int("reps.target", 0...1000, \.reps.target),
        .endpoint("link.server", example: "link.example.com:7741", allowEmpty: true, \.link.server),
        .string("link.device_id", \.link.deviceId),
        .path("link.directory", \.link.directory),
        .bool("link.plaintext", \.link.plaintext),
        .int("link.opus_bitrate", 6_000...64_000, \.link.opusBitrate),
        .int("link.opus_fec_loss_percent", 0...50, \.link.opusFecLossPercent),
        .bool("link.server_speech", \.link.serverSpeech),
        .bool("link.interjections", \.link.interjections),
        .double("link.answer_wait_seconds", 0...3600, \.link.answerWaitSeconds),
        .int("translation.segment_pause_ms", 100...3000, \.translation.segmentPauseMs),
        .bool("translation.over_user", \.translation.overUser),
        .double("translation.duck_db", -40...0, \.translation.duckDb),
    ]

    /// Top-level keys that are not settings but say where more settings come from.
    public static let boardSelector = "board_profile"

    /// Applies the entries of one TOML document to `config`. Returns the board profile the document
    /// asks for (`board_profile = "NAME"`), which the caller loads underneath it.
    @discardableResult
    public static func apply(_ entries: [TOMLEntry], file: String, to config: inout MicroturnConfig,
                             allowBoardSelector: Bool = true) throws(ConfigError) -> String? {
        var board: String?
        try Key.apply(entries, keys: keys, file: file, to: &config, selector: allowBoardSelector ? boardSelector : nil) { entry throws(ConfigError) in
            guard case .string(let name) = entry.value else {
                throw .badValue(file: file, line: entry.line, path: entry.path, got: entry.value.description,
                                allowed: "a board profile name (string), e.g. \"virtual\"")
            }
            board = name
        }
        return board
    }

    /// What a board profile must say (boards/*.toml): the facts an integrator's kit needs to size
    /// the unit, open the devices and judge the board's health. Other keys are optional.
    public static let boardProfileKeys = [
        "board.name", "board.description", "board.architecture", "board.cores", "board.threads",
        "board.memory_high_mb", "board.memory_max_mb", "board.thermal_zone", "board.thermal_warn_c",
        "board.thermal_critical_c", "audio.capture_device", "audio.playback_device", "audio.period_ms",
        "turn.micro_turn_ms",
    ]

    /// Checks that a board profile's entries say all of `boardProfileKeys`.
    public static func checkBoardProfile(_ entries: [TOMLEntry], file: String) throws(ConfigError) {
        let said = Set(entries.map(\.path))
        let missing = boardProfileKeys.filter { !said.contains($0) }
        if !missing.isEmpty { throw .incompleteBoard(file: file, missing: missing) }
    }

    /// Pairs of settings that are each in range but contradict each other. Checked once every
    /// source is merged, so a flag may fix what a file set; never clamped behind the user's back.
    public static func checkConsistent(_ c: MicroturnConfig) throws(ConfigError) {
        if c.link.plaintext, let (host, _) = Endpoint.parse(c.link.server), !Endpoint.isLoopback(host) {
            throw .contradiction(first: "link.plaintext", second: "link.server",
                                 reason: "a plaintext link is for development on this machine only, not to \(host); set link.plaintext = false and provision the device (microturn provision --help)")
        }
        if c.board.threads > c.board.cores {
            throw .contradiction(first: "board.threads", second: "board.cores",
                                 reason: "inference is given \(c.board.threads) threads on a board of \(c.board.cores) cores; lower board.threads")
        }
        if c.board.memoryMaxMb > 0 && c.board.memoryHighMb > c.board.memoryMaxMb {
            throw .contradiction(first: "board.memory_high_mb", second: "board.memory_max_mb",
                                 reason: "reclaim would start (\(c.board.memoryHighMb) MiB) above the hard limit (\(c.board.memoryMaxMb) MiB); lower memory_high_mb")
        }
        if c.board.thermalWarnC >= c.board.thermalCriticalC {
            throw .contradiction(first: "board.thermal_warn_c", second: "board.thermal_critical_c",
                                 reason: "the warning temperature (\(c.board.thermalWarnC) °C) must be below the critical one (\(c.board.thermalCriticalC) °C)")
        }
        if c.turn.maxSilenceMs < c.turn.endSilenceMs {
            throw .contradiction(first: "turn.max_silence_ms", second: "turn.end_silence_ms",
                                 reason: "the longest wait for a turn end (\(c.turn.maxSilenceMs) ms) is shorter than the shortest (\(c.turn.endSilenceMs) ms); raise max_silence_ms or lower end_silence_ms")
        }
        if c.model.residentExperts > 0 && (c.model.expertsProfile.isEmpty || c.model.path.isEmpty) {
            throw .contradiction(first: "model.resident_experts", second: c.model.path.isEmpty ? "model.path" : "model.experts_profile",
                                 reason: "keeping \(c.model.residentExperts) experts per layer needs an MoE model and its profile; set model.path and model.experts_profile (microturn model profile --help), or resident_experts = 0")
        }
        if c.commands.enabled && c.commands.endSilenceMs > c.turn.endSilenceMs {
            throw .contradiction(first: "commands.end_silence_ms", second: "turn.end_silence_ms",
                                 reason: "a command is meant to end sooner than a turn, but waits \(c.commands.endSilenceMs) ms against \(c.turn.endSilenceMs) ms; lower commands.end_silence_ms")
        }
    }

    /// Parses TOML text and applies it; syntax errors carry the file name.
    @discardableResult
    public static func apply(toml text: String, file: String, to config: inout MicroturnConfig,
                             allowBoardSelector: Bool = true) throws(ConfigError) -> String? {
        try apply(Key.parse(toml: text, file: file), file: file, to: &config, allowBoardSelector: allowBoardSelector)
    }
}
