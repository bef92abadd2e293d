import ArgumentParser
import MicroturnCore

/// Where settings come from: a config file and a board profile (ConfigLoader's order).
struct SettingsSource: ParsableArguments {
    @Option(help: "Config file (TOML). Default: /etc/microturn/microturn.toml when it exists, else built-in defaults.")
    var config: String?

    @Option(help: "Board profile: a name from boards/ (rpi5, rock5b, generic-x86_64, qemu-virt, ...; see microturn boards list) or a path to a .toml file.")
    var board: String?

    func load(flags: [TOMLEntry] = []) throws -> MicroturnConfig { try ConfigLoader.load(configPath: config, board: board, flags: flags) }
}

/// Options every command that runs a session shares: where settings come from, and the flags
/// that override them (the last word over board profile and config file).
struct SettingsOptions: ParsableArguments {
    @OptionGroup var source: SettingsSource

    @Option(help: "ALSA capture PCM, e.g. default, hw:CARD=Loopback,DEV=1, plughw:1,0.")
    var captureDevice: String?

    @Option(help: "ALSA playback PCM.")
    var playbackDevice: String?

    @Option(help: "Silence after speech that ends the user's turn, ms (60-5000).")
    var endSilenceMs: Int?

    @Option(help: "Micro-turn length, ms (40-400).")
    var microTurnMs: Int?

    @Option(help: "Voice activity method: adaptive or energy.")
    var vad: String?

    @Flag(help: "Turn echo cancellation off (to hear what it does).")
    var noEchoCancel = false

    func load() throws -> MicroturnConfig {
        var flags: [TOMLEntry] = []
        func flag(_ path: String, _ value: TOMLValue?) { if let value { flags.append(.init(path: path, value: value, line: 0)) } }
        flag("audio.capture_device", captureDevice.map(TOMLValue.string))
        flag("audio.playback_device", playbackDevice.map(TOMLValue.string))
        flag("turn.end_silence_ms", endSilenceMs.map(TOMLValue.integer))
        flag("turn.micro_turn_ms", microTurnMs.map(TOMLValue.integer))
        flag("vad.method", vad.map(TOMLValue.string))
        if noEchoCancel { flag("echo.enabled", .bool(false)) }
        return try source.load(flags: flags)
    }
}
