import Foundation
import FrameSequencing
import Recurrent
import TestSupport

/// What the README's examples assume the reader already has: the frames as bytes,
/// a few tensors of the right shapes, and the files they read (`frames.npy`, a
/// `frames/` folder of PNGs, `keras.safetensors`), written into a fresh directory
/// that becomes the working directory while the examples run.
struct ReadmeSetup {
    let directory: String
    let previousDirectory: String

    let pixels: [[UInt8]]                 // 50 frames of 64x64x1 bytes
    let sequences: [[Float]]              // two sequences of different lengths
    let image: Tensor                     // (28, 28, 3)
    let frame: Tensor                     // (64, 64, 1), one new frame
    let frameFeatures: Tensor             // (1, 4096), one frame flattened
    let tensors: [String: Tensor]         // a PyTorch nn.LSTM(4096, 256, 2) state dict
    let labels: Tensor                    // (5, 1), one label per clip
    let weight: Tensor                    // nn.Conv2d(1, 8, 3) weight (8, 1, 3, 3)
    let bias: Tensor                      // its bias (8)
    let kerasKernel: Tensor               // Conv2DTranspose kernel (3, 3, 4, 8)
    let kerasBias: Tensor                 // its bias (4)
    let dense: Dense                      // Dense(4 -> 1) the optimizer example trains
    let x: Tensor                         // (16, 4)
    let t: Tensor                         // (16, 1): x's feature sum, scaled
    let recent: Tensor                    // (1, 5, 64, 64, 1): context frames for a forecast
    let predicted: Tensor                 // (2, 64, 64, 1)
    let actual: Tensor                    // (2, 64, 64, 1)
    let frameLabels: Tensor               // (50, 3): one row per frame, a targets array

    /// Makes the data, writes the files and changes into the directory.
    static func enter() throws -> ReadmeSetup {
        let directory = try TestData.temporaryDirectory("readme-examples")
        let previous = FileManager.default.currentDirectoryPath
        let pixels: [[UInt8]] = (0 ..< 50).map { TestData.randomBytes(count: 4096, seed: UInt64($0)) }

        try NPY.write(NumericArray(shape: [50, 64, 64], data: .uint8(pixels.flatMap { $0 })),
                      to: directory + "/frames.npy")
        try FileManager.default.createDirectory(atPath: directory + "/frames", withIntermediateDirectories: true)
        let shape = try FrameShape(height: 64, width: 64, channels: 1)
        for index in 0 ..< 3 {
            try PNG.write(try ByteImage(shape: shape, pixels: pixels[index]), to: directory + "/frames/frame\(index + 1).png")
        }
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        let small = try LSTM(inputSize: 4096, hiddenSize: 8, layerCount: 1, seed: 4)
        try small.kerasSafeTensors(prefix: "lstm.").write(to: directory + "/keras.safetensors")
        let torch = try LSTM(inputSize: 4096, hiddenSize: 256, layerCount: 2, seed: 5).pytorchSafeTensors()
        var tensors: [String: Tensor] = [:]
        for name in torch.names { tensors[name] = try torch[name]!.tensor() }

        let x = try TestData.randomTensor([16, 4], seed: 6)
        let sums = (0 ..< 16).map { row in (0 ..< 4).reduce(Float(0)) { $0 + x.scalars[row * 4 + $1] } / 4 }
        let setup = ReadmeSetup(
            directory: directory, previousDirectory: previous, pixels: pixels,
            sequences: [[1, 2, 3], Array(repeating: 1, count: 25)],
            image: try TestData.randomTensor([28, 28, 3], seed: 7),
            frame: try TestData.randomTensor([64, 64, 1], seed: 8, range: 0 ... 1),
            frameFeatures: try TestData.randomTensor([1, 4096], seed: 9, range: 0 ... 1),
            tensors: tensors,
            labels: try TestData.randomTensor([5, 1], seed: 10),
            weight: try TestData.randomTensor([8, 1, 3, 3], seed: 11),
            bias: try TestData.randomTensor([8], seed: 12),
            kerasKernel: try TestData.randomTensor([3, 3, 4, 8], seed: 13),
            kerasBias: try TestData.randomTensor([4], seed: 14),
            dense: try Dense(inputSize: 4, outputSize: 1, seed: 15),
            x: x, t: try Tensor(shape: [16, 1], scalars: sums),
            recent: try TestData.randomTensor([1, 5, 64, 64, 1], seed: 16, range: 0 ... 1),
            predicted: try TestData.randomTensor([2, 64, 64, 1], seed: 17, range: 0 ... 1),
            actual: try TestData.randomTensor([2, 64, 64, 1], seed: 18, range: 0 ... 1),
            frameLabels: try TestData.randomTensor([50, 3], seed: 19))
        guard FileManager.default.changeCurrentDirectoryPath(directory) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: directory])
        }
        return setup
    }

    /// Back to the directory the tests started in.
    func leave() {
        _ = FileManager.default.changeCurrentDirectoryPath(previousDirectory)
    }
}
