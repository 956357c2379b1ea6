// swift-tools-version:6.1
import PackageDescription


let package = Package(
    name: "loom",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "loom", targets: ["loom"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // C shims over Debian's libpng, libjpeg-turbo and libwebp (error handling needs setjmp, which Swift cannot do).
        .target(
            name: "CMediaCodecs",
            linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg"), .linkedLibrary("webp"),
                             .linkedLibrary("webpdemux"), .linkedLibrary("webpmux"), .linkedLibrary("z")]
        ),
        .target(name: "TensorCore", swiftSettings: [.unsafeFlags(["-O"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .target(
            name: "TensorCPU", dependencies: ["TensorCore", "CBLAS", "CDNNL"],
            // Numeric kernels are optimised even in debug builds: unoptimised Swift loops are 10-100x slower.
            swiftSettings: [.unsafeFlags(["-O"])]
        ),
        .target(name: "Tokenizers", resources: [.copy("Resources/clip")]),
        .target(name: "Checkpoints", dependencies: ["TensorCore"]),
        .target(name: "TensorNN", dependencies: ["TensorCore"], swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "Models", dependencies: ["TensorNN", "TensorCore", "Checkpoints"], swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "Diffusion", dependencies: ["Models", "TensorNN", "TensorCore", "Checkpoints", "Tokenizers"], swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "MediaIO", dependencies: ["TensorCore", "CMediaCodecs"]),
        .target(name: "Workflow"),
        .target(name: "Executor", dependencies: ["Workflow"]),
        .target(name: "FolderPaths"),
        .target(name: "NodeLibrary", dependencies: ["Workflow", "TensorCore", "MediaIO", "FolderPaths", "Diffusion", "Models", "Checkpoints", "Tokenizers"]),
        .target(name: "JobQueue", dependencies: ["Workflow"]),
        .target(name: "MessageQueue"),
        .target(name: "JobQueueSQLite", dependencies: ["JobQueue", "MessageQueue", "Workflow", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(
            name: "Server",
            dependencies: [
                "Workflow", "Executor", "JobQueue", "NodeLibrary", "MediaIO", "FolderPaths", "Diffusion", "TensorCore", "MessageQueue",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "loom",
            dependencies: [
                "Server", "JobQueueSQLite", "JobQueue", "Workflow", "TensorCPU", "TensorCore", "CBLAS", "Checkpoints", "Models", "Diffusion",
                "Tokenizers", "NodeLibrary", "MediaIO", "FolderPaths", "MessageQueue",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "Workflow", "FolderPaths"]),
        .testTarget(name: "TensorCPUTests", dependencies: ["TensorCPU", "TensorCore"]),
        // Checkpoint fixtures (generated, cached outside the repository) and the .npy golden reader.
        .target(name: "LoomTestSupport", path: "Tests/LoomTestSupport"),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TensorNN", "TensorCore", "TensorCPU", "Checkpoints", "Tokenizers", "MediaIO", "LoomTestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TensorCore", "Workflow", "LoomTestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Workflow"]),
        .testTarget(name: "WorkflowTests", dependencies: ["Workflow", "Executor"]),
        .testTarget(name: "JobQueueTests", dependencies: ["JobQueue", "JobQueueSQLite", "Workflow"]),
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO", "TensorCore", "NodeLibrary", "Workflow", "FolderPaths"]),
        .testTarget(
            name: "NodeLibraryTests",
            dependencies: ["NodeLibrary", "Diffusion", "Models", "Checkpoints", "Tokenizers", "TensorCore", "TensorCPU", "Workflow", "Executor", "FolderPaths", "MediaIO", "LoomTestSupport"],
            // Golden JSON files read through #filePath, not bundled.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "JobQueue", "JobQueueSQLite", "Workflow", "NodeLibrary", "MediaIO", "TensorCore", "FolderPaths", "MessageQueue",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Workflow", "MediaIO", "TensorCore", "LoomTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
    ]
)
