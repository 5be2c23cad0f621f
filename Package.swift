// swift-tools-version:6.0
import PackageDescription

// No package dependencies and no unsafe compiler flags: this package must build as a
// version-pinned dependency of other packages.

// Targets that use the core and file modules through `import FrameSequencing` also
// declare them. `FrameSequencing` only re-exports the two, so its own .swiftmodule
// does not change when theirs does, and SwiftPM 6.3.1 does not recompile a target
// whose declared dependencies' modules are unchanged: after a struct of
// FrameSequencingCore changed layout, an incremental build kept Recurrent's and the
// test targets' code for the old layout, and the linker's pick of the shared
// "outlined destroy of FrameWindows" came from one of those stale objects (the
// tests crashed destroying a FrameWindows; a clean build never did). See
// swiftlang/swift-package-manager#10483 and swiftlang/swift#89636.
let frameSequencing: [Target.Dependency] = ["FrameSequencing", "FrameSequencingCore", "FrameSequencingIO"]

let package = Package(
    name: "FrameSequencing",
    // Atomic (Synchronization) needs macOS 15 / iOS 18 on Apple platforms; Linux has it with Swift 6.
    platforms: [.macOS(.v15), .iOS(.v18)],
    products: [
        .library(name: "FrameSequencing", targets: ["FrameSequencing"]),
        .library(name: "Recurrent", targets: ["Recurrent"]),
        // The command line as a library, for `frameseq-mpi` in Distributed/ (runs
        // `frameseq train` as one rank); not an API for other uses.
        .library(name: "FrameseqCLI", targets: ["FrameseqCLI"]),
        .executable(name: "frameseq", targets: ["frameseq"]),
        .executable(name: "frameseq-bench", targets: ["frameseq-bench"]),
    ],
    targets: [
        // The parallel runtime both libraries run on: the persistent worker pool, worker
        // teams and elementwise passes. Internal: no product, imported `internal`.
        .target(name: "FrameSequencingRuntime"),
        // Frames, windows, batches, padding, splits, normalization, streams; tensors and
        // the memory ceiling every allocation is checked against.
        .target(name: "FrameSequencingCore", dependencies: ["FrameSequencingRuntime"]),
        // Files: NPY, safetensors, PNG, PNM and image folders, with zlib, checksums and the
        // header parsers internal to it. Reads into and writes from the core's values.
        .target(name: "FrameSequencingIO", dependencies: ["FrameSequencingCore"]),
        // The library users import: re-exports the core and the file formats.
        .target(name: "FrameSequencing", dependencies: ["FrameSequencingCore", "FrameSequencingIO"]),
        // x86 micro-kernels: GEMM, fused LSTM steps, ConvLSTM cells, Winograd, max pooling,
        // optimizer steps. Each function carries its own
        // `__attribute__((target(...)))`, so no compiler flags are needed and the
        // kernel is picked at run time from the CPU; other architectures get stubs.
        .target(name: "CFrameKernels", path: "Sources/CFrameKernels"),
        .target(name: "Recurrent", dependencies: frameSequencing + ["FrameSequencingRuntime", "CFrameKernels"]),
        // The command line's code, in a library so the tests run it in process.
        .target(name: "FrameseqCLI", dependencies: frameSequencing + ["Recurrent"]),
        .executableTarget(name: "frameseq", dependencies: ["FrameseqCLI"]),
        // FrameseqCLI: train.seed3 times the step `frameseq train` plans by default.
        .executableTarget(name: "frameseq-bench", dependencies: frameSequencing + ["FrameSequencingRuntime", "Recurrent", "CFrameKernels", "FrameseqCLI"]),
        // Shared test helpers (comparison, fixture lookup, seeded data). Kept free of
        // XCTest so it reports results and the test targets decide how to fail.
        .target(name: "TestSupport", dependencies: frameSequencing, path: "Tests/TestSupport"),
        // Counts heap allocations of the test process (glibc's entry points, interposed)
        // so tests can show that time loops do not allocate.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        // Core/ and IO/ test the two halves of FrameSequencing; IO/Data/: reference PNG files
        // and zlib streams written by IO/Data/make_pngs.py, read by path.
        .testTarget(name: "FrameSequencingTests",
                    dependencies: ["FrameSequencing", "FrameSequencingCore", "FrameSequencingIO", "TestSupport"],
                    exclude: ["IO/Data"]),
        .testTarget(name: "RuntimeTests", dependencies: frameSequencing + ["FrameSequencingRuntime", "TestSupport"]),
        .testTarget(name: "FixtureConformanceTests", dependencies: frameSequencing + ["Recurrent", "TestSupport"]),
        // Data/: reference files written by Fixtures/generate_torch.py, read by path.
        // CFrameKernels: the fused LSTM kernels' activations are tested directly.
        .testTarget(name: "RecurrentTests",
                    dependencies: frameSequencing + ["Recurrent", "FrameSequencingRuntime", "CFrameKernels", "TestSupport",
                                                     "AllocationCounter"],
                    exclude: ["Data"]),
        // The README's swift blocks, compiled and run in order (sync_readme.py writes them).
        .testTarget(name: "ReadmeExamplesTests", dependencies: frameSequencing + ["Recurrent", "TestSupport"],
                    exclude: ["sync_readme.py"]),
        .testTarget(name: "FrameseqCLITests", dependencies: frameSequencing + ["FrameseqCLI", "Recurrent"]),
    ],
    swiftLanguageModes: [.v6]
)
