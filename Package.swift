// swift-tools-version:6.0
import PackageDescription

// No package dependencies and no unsafe compiler flags: this package must build as a
// version-pinned dependency of other packages.
let package = Package(
    name: "FrameSequencing",
    // Atomic (Synchronization) needs macOS 15 / iOS 18 on Apple platforms; Linux has it with Swift 6.
    platforms: [.macOS(.v15), .iOS(.v18)],
    products: [
        .library(name: "FrameSequencing", targets: ["FrameSequencing"]),
        .library(name: "Recurrent", targets: ["Recurrent"]),
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
        .target(name: "Recurrent", dependencies: ["FrameSequencing", "FrameSequencingRuntime", "CFrameKernels"]),
        // The command line's code, in a library so the tests run it in process.
        .target(name: "FrameseqCLI", dependencies: ["FrameSequencing", "Recurrent"]),
        .executableTarget(name: "frameseq", dependencies: ["FrameseqCLI"]),
        // FrameseqCLI: train.seed3 times the step `frameseq train` plans by default.
        .executableTarget(name: "frameseq-bench", dependencies: ["FrameSequencing", "FrameSequencingRuntime", "Recurrent", "CFrameKernels", "FrameseqCLI"]),
        // Shared test helpers (comparison, fixture lookup, seeded data). Kept free of
        // XCTest so it reports results and the test targets decide how to fail.
        .target(name: "TestSupport", dependencies: ["FrameSequencing"], path: "Tests/TestSupport"),
        // Counts heap allocations of the test process (glibc's entry points, interposed)
        // so tests can show that time loops do not allocate.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        // Core/ and IO/ test the two halves of FrameSequencing; IO/Data/: reference PNG files
        // and zlib streams written by IO/Data/make_pngs.py, read by path.
        .testTarget(name: "FrameSequencingTests",
                    dependencies: ["FrameSequencing", "FrameSequencingCore", "FrameSequencingIO", "TestSupport"],
                    exclude: ["IO/Data"]),
        .testTarget(name: "RuntimeTests", dependencies: ["FrameSequencingRuntime", "FrameSequencing", "TestSupport"]),
        .testTarget(name: "FixtureConformanceTests", dependencies: ["FrameSequencing", "Recurrent", "TestSupport"]),
        // Data/: reference files written by Fixtures/generate_torch.py, read by path.
        // CFrameKernels: the fused LSTM kernels' activations are tested directly.
        .testTarget(name: "RecurrentTests",
                    dependencies: ["Recurrent", "FrameSequencing", "FrameSequencingRuntime", "CFrameKernels", "TestSupport",
                                   "AllocationCounter"],
                    exclude: ["Data"]),
        // The README's swift blocks, compiled and run in order (sync_readme.py writes them).
        .testTarget(name: "ReadmeExamplesTests", dependencies: ["FrameSequencing", "Recurrent", "TestSupport"],
                    exclude: ["sync_readme.py"]),
        .testTarget(name: "FrameseqCLITests", dependencies: ["FrameseqCLI", "FrameSequencing", "Recurrent"]),
    ],
    swiftLanguageModes: [.v6]
)
