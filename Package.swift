// swift-tools-version:6.0
import PackageDescription

// Microturn: an interaction runtime for embedded Linux boards.
// Layout and dependency rules: see README.md ("Layout").
let package = Package(
    name: "Microturn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "microturn", targets: ["microturn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The link's wire schema (Sources/MicroturnLink/link.proto). Exact: the generated code
        // (tools/gen-link-schema.sh) is made by this version's plugin.
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
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
        .target(name: "MicroturnAudio",
                dependencies: ["MicroturnCore", "CAlsa", "CSpeexDSP", "CEspeakNG", "CPocketSphinx", "COpus", "CMicroturnShims"]),
        // The link to the background server: wire schema, framing, sequence/ack/replay.
        .target(name: "MicroturnLink",
                dependencies: ["MicroturnCore", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                               .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
                exclude: ["PROTOCOL.md", "link.proto"]),
        // The background server: link sessions (resume, replay, deduplicated tasks) and its workers.
        .target(name: "MicroturnServer", dependencies: ["MicroturnCore", "MicroturnLink",
                                                        .product(name: "NIOCore", package: "swift-nio"),
                                                        .product(name: "NIOPosix", package: "swift-nio")]),
        .target(name: "MicroturnInteraction", dependencies: ["MicroturnCore", "MicroturnAudio", "MicroturnVision", "MicroturnLink"]),
        // Virtual-clock sessions on files, dialog generation, turn metrics, model fitting: bench and
        // test scaffolding that the runtime library does not carry.
        .target(name: "MicroturnSimulation",
                dependencies: ["MicroturnCore", "MicroturnAudio", "MicroturnVision", "MicroturnInteraction"]),
        // Block dot products with SIMD intrinsics (AVX2 chosen at run time), each with a scalar twin.
        .target(name: "CMicroturnKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        .target(name: "MicroturnInference", dependencies: ["CMicroturnKernels"]),
        .target(name: "CMicroturnCamera", linkerSettings: [.linkedLibrary("v4l2")]),
        .target(name: "MicroturnVision", dependencies: ["CMicroturnCamera"]),
        .executableTarget(name: "microturn", dependencies: [
            "MicroturnCore", "MicroturnAudio", "MicroturnInteraction", "MicroturnSimulation", "MicroturnInference",
            "MicroturnVision", "MicroturnLink", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "MicroturnCoreTests", dependencies: ["MicroturnCore"]),
        .testTarget(name: "MicroturnAudioTests", dependencies: ["MicroturnAudio", "MicroturnCore"]),
        .testTarget(name: "MicroturnInteractionTests",
                    dependencies: ["MicroturnInteraction", "MicroturnAudio", "MicroturnCore", "MicroturnVision"]),
        .testTarget(name: "MicroturnInferenceTests", dependencies: ["MicroturnInference", "CMicroturnKernels"]),
        .testTarget(name: "MicroturnVisionTests", dependencies: ["MicroturnVision"]),
        .testTarget(name: "MicroturnLinkTests", dependencies: ["MicroturnLink", "MicroturnServer", "MicroturnAudio", "MicroturnCore",
                                                              .product(name: "NIOCore", package: "swift-nio"),
                                                              .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "IntegrationTests",
                    dependencies: ["microturn", "MicroturnInteraction", "MicroturnSimulation", "MicroturnServer", "MicroturnLink", "MicroturnAudio", "MicroturnCore", "MicroturnVision"]),
    ],
    swiftLanguageModes: [.v6]
)
