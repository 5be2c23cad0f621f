// swift-tools-version:6.0
import PackageDescription

// No package dependencies and no unsafeFlags: this package must build as a
// version-pinned dependency of other packages.
let package = Package(
    name: "FrameSequencing",
    // Atomic (Synchronization) needs macOS 15 / iOS 18 on Apple platforms; Linux has it with Swift 6.
    platforms: [.macOS(.v15), .iOS(.v18)],
    products: [
        .library(name: "FrameSequencing", targets: ["FrameSequencing"]),
        .executable(name: "frameseq", targets: ["frameseq"]),
        .executable(name: "frameseq-bench", targets: ["frameseq-bench"]),
    ],
    targets: [
        .target(name: "FrameSequencing"),
        .executableTarget(name: "frameseq", dependencies: ["FrameSequencing"]),
        .executableTarget(name: "frameseq-bench", dependencies: ["FrameSequencing"]),
        // Shared test helpers (comparison, fixture lookup, seeded data). Kept free of
        // XCTest so it reports results and the test targets decide how to fail.
        .target(name: "TestSupport", dependencies: ["FrameSequencing"], path: "Tests/TestSupport"),
        .testTarget(name: "FrameSequencingTests", dependencies: ["FrameSequencing", "TestSupport"]),
        .testTarget(name: "FixtureConformanceTests", dependencies: ["FrameSequencing", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
