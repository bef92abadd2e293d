import ArgumentParser

@main
struct MicroturnServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "microturn-server",
        abstract: "Microturn's background server: the other end of the devices' link.",
        subcommands: [])
}
