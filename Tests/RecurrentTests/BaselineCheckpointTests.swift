import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Checkpoints of the three models written by the code as it stood before the
/// `Layer` protocol work (issue 19, step 13), with each model's output on a fixed
/// input. The models' parameter names and forward passes must keep reading them:
/// a renamed parameter fails `restore`, a changed composition fails the outputs.
///
/// `FRAMESEQ_WRITE_BASELINES=1 swift test --filter BaselineCheckpointTests` rewrites
/// them; do that only for a deliberate, CHANGELOG-listed break.
final class BaselineCheckpointTests: XCTestCase {
    private static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Data").path

    /// (B, T, 8, 8, 1) frames in 0...1, the same on every run.
    private func frames() throws -> Tensor { try TestData.randomTensor([2, 3, 8, 8, 1], seed: 41, range: 0 ... 1) }

    func testCNNLSTM() throws {
        try check("cnn_lstm", build: { seed in
            try CNNLSTM(frameHeight: 8, frameWidth: 8, channels: 1, filters: [4], hiddenSize: 5, outputs: 3, seed: seed)
        }, forward: { model, x in try model.forward(x) })
    }

    func testCNNLSTMForecaster() throws {
        try check("cnn_lstm_forecaster", build: { seed in
            try CNNLSTMForecaster(frameHeight: 8, frameWidth: 8, channels: 1, filters: [4, 6], hiddenSize: 7, seed: seed)
        }, forward: { model, x in try model.forward(x).frames })
    }

    func testConvLSTMForecaster() throws {
        try check("convlstm_forecaster", build: { seed in
            try ConvLSTMForecaster(frameHeight: 8, frameWidth: 8, channels: 1, filters: [4, 5], horizon: 2, seed: seed)
        }, forward: { model, x in try model.forward(x) })
    }

    func testConvLSTMForecasterWithEmbedding() throws {
        try check("convlstm_forecaster_embedding", build: { seed in
            try ConvLSTMForecaster(frameHeight: 8, frameWidth: 8, channels: 1, filters: [4], horizon: 1,
                                   embeddingFilters: 3, seed: seed)
        }, forward: { model, x in try model.forward(x) })
    }

    /// Writes (when asked) or reads `<name>.checkpoint.safetensors` and
    /// `<name>.output.safetensors`: a model built with another seed restores the
    /// checkpoint and must give the stored output.
    private func check<Model: Trainable>(
        _ name: String, build: (UInt64) throws -> Model, forward: (Model, Tensor) throws -> Tensor
    ) throws {
        let checkpointPath = Self.directory + "/baseline_\(name).checkpoint.safetensors"
        let outputPath = Self.directory + "/baseline_\(name).output.safetensors"
        let x = try frames()
        if ProcessInfo.processInfo.environment["FRAMESEQ_WRITE_BASELINES"] == "1" {
            let model = try build(7)
            try Checkpoint(model: model, epoch: 1, metadata: ["model": name]).write(to: checkpointPath)
            try SafeTensors([.init(name: "output", array: NumericArray(try forward(model, x)))]).write(to: outputPath)
        }
        let saved = try Checkpoint.read(contentsOf: checkpointPath)
        var model = try build(99)
        XCTAssertNotEqual(model.namedParameters.map(\.tensor), saved.parameters.map(\.tensor),
                          "\(name): another seed must give other weights, or restoring proves nothing")
        try saved.restore(into: &model)
        XCTAssertEqual(model.namedParameters.map(\.name), saved.parameters.map(\.name), "\(name): parameter names and order")
        let expected = try XCTUnwrap(try SafeTensors.read(contentsOf: outputPath)["output"]).tensor()
        let output = try forward(model, x)
        XCTAssertEqual(output.dimensions, expected.dimensions, name)
        // Kernel paths (swift, avx2, avx512) sum in different orders: not bit for bit across CPUs.
        let comparison = compare(name, actual: output.scalars, expected: expected.scalars, atol: 1e-5, rtol: 1e-4)
        XCTAssertTrue(comparison.passed, "\(comparison)")
    }
}
