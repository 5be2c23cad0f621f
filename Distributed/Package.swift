// swift-tools-version:6.0
import PackageDescription

// Data-parallel training over Open MPI, beside the core package so that the core
// keeps no dependencies: this package depends on it by path and on the system's
// Open MPI (Debian: `apt-get install openmpi-bin libopenmpi-dev`), found with
// pkg-config. Built and tested on its own: `cd Distributed && swift build && swift test`.
let package = Package(
    name: "FrameseqDistributed",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FrameseqMPI", targets: ["FrameseqMPI"]),
        .executable(name: "frameseq-mpi", targets: ["frameseq-mpi"]),
    ],
    dependencies: [.package(name: "FrameSequencing", path: "..")],
    targets: [
        // The system's Open MPI headers and library.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev"]), .brew(["open-mpi"])]),
        // The few MPI calls Swift cannot make itself (MPI_COMM_WORLD and the other
        // handles are C macros), with the deadlines that turn a hung rank into an error.
        .target(name: "CMPIShim", dependencies: ["CMPI"]),
        .target(name: "FrameseqMPI", dependencies: [
            "CMPIShim",
            .product(name: "Recurrent", package: "FrameSequencing"),
            .product(name: "FrameSequencing", package: "FrameSequencing"),
            .product(name: "FrameseqCLI", package: "FrameSequencing"),
        ]),
        .executableTarget(name: "frameseq-mpi", dependencies: ["FrameseqMPI"]),
        .testTarget(name: "FrameseqMPITests", dependencies: [
            "FrameseqMPI",
            .product(name: "Recurrent", package: "FrameSequencing"),
            .product(name: "FrameSequencing", package: "FrameSequencing"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
