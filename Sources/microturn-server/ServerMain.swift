import ArgumentParser
import MicroturnCore

@main
struct MicroturnServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "microturn-server",
        abstract: "Microturn's background server: the other end of the devices' link.",
        discussion: """
        Devices send requests they cannot handle locally (speech as Opus, with what they heard) over a
        TLS link authenticated both ways; the server runs each request once and answers.

        First time:
          microturn-server ca init --dir /etc/microturn-server/ca --server-name link.example.com
          microturn-server ca sign --dir /etc/microturn-server/ca device.csr --out device.pem
                                                  (device.csr from `microturn provision` on the device)
          microturn-server serve --config /etc/microturn-server/server.toml

        For development on one machine, without certificates:
          microturn-server serve --plaintext --listen 127.0.0.1:7741 --state-dir /tmp/mt-server

        SIGTERM or Ctrl-C drains: devices are told GOAWAY, running tasks finish (server.drain_seconds),
        then the server exits. Exit codes follow sysexits: 64 usage, 65 bad input data, 66 missing file,
        69 unavailable (a port in use, a model missing), 74 I/O error, 78 bad config.
        """,
        version: MicroturnVersion.string,
        subcommands: [Serve.self, CA.self])
}
