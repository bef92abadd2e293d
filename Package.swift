// swift-tools-version:6.0
import PackageDescription

// Microturn: an interaction runtime for embedded Linux boards.
// Layout and dependency rules: see README.md ("Layout").
let package = Package(
    name: "Microturn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "microturn", targets: ["microturn"]),
        .executable(name: "microturn-server", targets: ["microturn-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The link's wire schema (Sources/MicroturnLink/link.proto). Exact: the generated code
        // (tools/gen-link-schema.sh) is made by this version's plugin.
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        // The link's TLS 1.3 with mutual authentication, and the fleet CA's keys and certificates.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.1.0"),
        // The device's durable outbox and the server's task store (SQLite).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The server's task store shared by several instances.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // The server: logging, graceful drain on SIGTERM, Prometheus metrics.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        // The server's OpenAI-compatible backends (transcription, chat with tools, speech).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // System libraries from Debian's -dev packages (tools/setup.sh installs them).
        .systemLibrary(name: "CAlsa", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        .systemLibrary(name: "CSpeexDSP", pkgConfig: "speexdsp", providers: [.apt(["libspeexdsp-dev"])]),
        .systemLibrary(name: "CEspeakNG", pkgConfig: "espeak-ng", providers: [.apt(["libespeak-ng-dev"])]),
        .systemLibrary(name: "CPocketSphinx", pkgConfig: "pocketsphinx",
                       providers: [.apt(["libpocketsphinx-dev", "pocketsphinx-en-us"])]),
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        // Namespaced C wrappers (mt_*) for what Swift cannot import directly.
        .target(name: "CMicroturnShims", linkerSettings: [.linkedLibrary("asound"), .linkedLibrary("opus")]),

        .target(name: "MicroturnCore"),
        // What a service manager needs of both binaries: the sd_notify protocol and the watchdog.
        .target(name: "MicroturnService"),
        .target(name: "MicroturnAudio",
                dependencies: ["MicroturnCore", "CAlsa", "CSpeexDSP", "CEspeakNG", "CPocketSphinx", "COpus", "CMicroturnShims"]),
        // The link to the background server: wire schema, framing, sequence/ack/replay.
        .target(name: "MicroturnLink",
                dependencies: ["MicroturnCore", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                               .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                               .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "X509", package: "swift-certificates"),
                               .product(name: "Crypto", package: "swift-crypto"), .product(name: "GRDB", package: "GRDB.swift")],
                exclude: ["PROTOCOL.md", "link.proto"]),
        // The background server: link sessions (resume, replay, deduplicated tasks) and its workers.
        .target(name: "MicroturnServer", dependencies: ["MicroturnCore", "MicroturnLink", "MicroturnAudio", "MicroturnInference",
                                                        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                                                        .product(name: "NIOCore", package: "swift-nio"),
                                                        .product(name: "NIOPosix", package: "swift-nio"),
                                                        .product(name: "NIOHTTP1", package: "swift-nio"),
                                                        .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                        .product(name: "X509", package: "swift-certificates"),
                                                        .product(name: "Crypto", package: "swift-crypto"),
                                                        .product(name: "SwiftASN1", package: "swift-asn1"),
                                                        .product(name: "GRDB", package: "GRDB.swift"),
                                                        .product(name: "PostgresNIO", package: "postgres-nio"),
                                                        .product(name: "Logging", package: "swift-log"),
                                                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                        .product(name: "Prometheus", package: "swift-prometheus"),
                                                        .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        .target(name: "MicroturnInteraction", dependencies: ["MicroturnCore", "MicroturnAudio", "MicroturnVision", "MicroturnLink", "MicroturnInference"]),
        // Virtual-clock sessions on files, dialog generation, turn metrics, model fitting: bench and
        // test scaffolding that the runtime library does not carry.
        .target(name: "MicroturnSimulation",
                dependencies: ["MicroturnCore", "MicroturnAudio", "MicroturnVision", "MicroturnInteraction", "MicroturnInference",
                               .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]),
        // Block dot products with SIMD intrinsics (AVX2 chosen at run time), each with a scalar twin.
        .target(name: "CMicroturnKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        .target(name: "MicroturnInference", dependencies: ["MicroturnCore", "CMicroturnKernels"]),
        .target(name: "CMicroturnCamera", linkerSettings: [.linkedLibrary("v4l2")]),
        .target(name: "MicroturnVision", dependencies: ["MicroturnCore", "CMicroturnCamera"]),
        .executableTarget(name: "microturn", dependencies: [
            "MicroturnCore", "MicroturnAudio", "MicroturnInteraction", "MicroturnSimulation", "MicroturnInference",
            "MicroturnVision", "MicroturnLink", "MicroturnService", "CMicroturnShims", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            // diag: the device certificate's dates, a model file's SHA-256.
            .product(name: "X509", package: "swift-certificates"), .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "microturn-server", dependencies: [
            "MicroturnAudio", "MicroturnCore", "MicroturnLink", "MicroturnServer", "MicroturnService",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // Every suite's tests run on threads of their own, not Swift's two cooperative ones (OwnThreads).
        .target(name: "TestSupport", dependencies: ["MicroturnCore"], path: "Tests/TestSupport"),
        .testTarget(name: "MicroturnCoreTests", dependencies: ["TestSupport", "MicroturnCore"]),
        .testTarget(name: "MicroturnAudioTests", dependencies: ["TestSupport", "MicroturnAudio", "MicroturnCore", "CPocketSphinx"]),
        .testTarget(name: "MicroturnInteractionTests",
                    dependencies: ["TestSupport", "MicroturnInteraction", "MicroturnAudio", "MicroturnCore", "MicroturnVision"]),
        .testTarget(name: "MicroturnInferenceTests", dependencies: ["TestSupport", "MicroturnInference", "CMicroturnKernels"]),
        .testTarget(name: "MicroturnVisionTests", dependencies: ["TestSupport", "MicroturnVision"]),
        .testTarget(name: "MicroturnLinkTests", dependencies: ["TestSupport", "MicroturnLink", "MicroturnServer", "MicroturnAudio", "MicroturnCore",
                                                              .product(name: "NIOCore", package: "swift-nio"),
                                                              .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "MicroturnServerTests", dependencies: ["TestSupport", "MicroturnServer", "MicroturnInference", "MicroturnLink", "MicroturnCore",
                                                                "MicroturnSimulation",
                                                                .product(name: "NIOCore", package: "swift-nio"),
                                                                .product(name: "NIOPosix", package: "swift-nio"),
                                                                .product(name: "NIOHTTP1", package: "swift-nio")]),
        .testTarget(name: "IntegrationTests",
                    dependencies: ["TestSupport", "microturn", "microturn-server", "MicroturnService", "MicroturnInteraction", "MicroturnSimulation", "MicroturnServer", "MicroturnLink", "MicroturnAudio", "MicroturnCore", "MicroturnVision",
                                   .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                                   .product(name: "Logging", package: "swift-log")]),
    ],
    swiftLanguageModes: [.v6]
)
