import MicroturnCore
import Testing
import TestSupport

@Suite(.ownThreads) struct ConfigSchemaTests {
    @Test func appliesKnownKeys() throws {
        var c = MicroturnConfig()
        let board = try ConfigSchema.apply(toml: """
            board_profile = "virtual"
            [audio]
            capture_device = "plughw:1,0"
            period_ms = 5
            formats = ["FLOAT_LE"]
            [turn]
            end_silence_ms = 300
            [speech]
            gain_db = -6
            """, file: "t.toml", to: &c)
        #expect(board == "virtual")
        #expect(c.audio.captureDevice == "plughw:1,0")
        #expect(c.audio.periodMs == 5)
        #expect(c.audio.formats == ["FLOAT_LE"])
        #expect(c.turn.endSilenceMs == 300)
        #expect(c.speech.gainDb == -6)
    }

    @Test func theLinkSettings() throws {
        var c = MicroturnConfig()
        try ConfigSchema.apply(toml: """
            [link]
            server = "[::1]:7741"
            plaintext = true
            opus_bitrate = 24000
            opus_fec_loss_percent = 10
            """, file: "t.toml", to: &c)
        #expect(c.link.opusBitrate == 24_000 && c.link.opusFecLossPercent == 10 && c.link.plaintext)
        try ConfigSchema.checkConsistent(c)
        #expect(throws: ConfigError.self) { try ConfigSchema.apply(toml: "[link]\nopus_fec_loss_percent = 80", file: "t", to: &c) }
        #expect(throws: ConfigError.self) { try ConfigSchema.apply(toml: "[link]\nserver = \"no-port\"", file: "t", to: &c) }
        // Plaintext off this machine is refused once everything is merged.
        try ConfigSchema.apply(toml: "[link]\nserver = \"link.example.com:7741\"", file: "t", to: &c)
        #expect(throws: ConfigError.self) { try ConfigSchema.checkConsistent(c) }
    }

    @Test func unknownKeyNamesThePathAndTheKnownKeys() {
        var c = MicroturnConfig()
        #expect(throws: ConfigError.unknownKey(file: "t.toml", line: 2, path: "speech.rate",
                                               known: ["speech.voice", "speech.rate_wpm", "speech.pitch", "speech.gain_db"])) {
            try ConfigSchema.apply(toml: "[speech]\nrate = 3", file: "t.toml", to: &c)
        }
    }

    @Test func badValueNamesThePathAndWhatIsAllowed() {
        var c = MicroturnConfig()
        do {
            try ConfigSchema.apply(toml: "[turn]\nmicro_turn_ms = 500", file: "t.toml", to: &c)
            Issue.record("a micro-turn of 500 ms was accepted")
        } catch {
            #expect(error.description.contains("turn.micro_turn_ms"))
            #expect(error.description.contains("an integer from 40 to 400"))
            #expect(error.description.contains("t.toml:2"))
        }
        #expect(throws: ConfigError.self) { try ConfigSchema.apply(toml: "[vad]\nmethod = \"magic\"", file: "t", to: &c) }
        #expect(throws: ConfigError.self) { try ConfigSchema.apply(toml: "[audio]\nformats = [\"U8\"]", file: "t", to: &c) }
        #expect(throws: ConfigError.self) { try ConfigSchema.apply(toml: "[echo]\nenabled = 1", file: "t", to: &c) }
        #expect(c == MicroturnConfig(), "a rejected config leaves the settings as they were")
    }

    @Test func boardProfilesCannotNameAnotherBoard() {
        var c = MicroturnConfig()
        #expect(throws: ConfigError.self) {
            try ConfigSchema.apply(toml: "board_profile = \"x\"", file: "b.toml", to: &c, allowBoardSelector: false)
        }
    }

    /// Settings each in range that cannot hold together are an error naming both, not clamped.
    @Test func contradictoryPairsAreRefused() throws {
        var c = MicroturnConfig()
        try ConfigSchema.checkConsistent(c)
        c.turn.endSilenceMs = 900
        c.turn.maxSilenceMs = 600
        #expect(throws: ConfigError.self) { try ConfigSchema.checkConsistent(c) }
        do { try ConfigSchema.checkConsistent(c) } catch {
            #expect(error.description.contains("turn.max_silence_ms") && error.description.contains("turn.end_silence_ms"))
        }
        c.turn.maxSilenceMs = 900
        try ConfigSchema.checkConsistent(c)
        c.commands.endSilenceMs = 1000
        #expect(throws: ConfigError.self) { try ConfigSchema.checkConsistent(c) }
        c.commands.enabled = false
        try ConfigSchema.checkConsistent(c)
    }
}
