import ArgumentParser
import MicroturnCore

@main
struct Microturn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "microturn",
        abstract: "Full-duplex interaction runtime for embedded Linux boards.",
        discussion: """
        Microturn listens (ALSA capture), speaks (ALSA playback) and takes turns in 200 ms micro-turns.

        Start here:
          microturn demo                         a spoken dialog through virtual sound devices, no hardware needed
          microturn run --capture-file in.wav --playback-file out.wav --events ev.jsonl
          microturn run --board generic-x86_64   live, on the board's sound card (Ctrl-C stops)
          microturn bench turns --dialogs DIR    turn latency, barge-in, echo and idle cost
          microturn model inspect FILE.gguf      what a model file holds
          microturn provision --device-id ID     this device's key and certificate for the background server
          microturn link ask --text "..."        a request to the background server, and its answer

        Exit codes follow sysexits: 64 usage, 65 bad input data, 69 device unavailable, 74 I/O error, 78 bad config.
        """,
        version: MicroturnVersion.string,
        subcommands: [Run.self, Demo.self, Diag.self, Reps.self, Camera.self, Bench.self, Model.self, Provision.self, Link.self, Boards.self]
    )
}
