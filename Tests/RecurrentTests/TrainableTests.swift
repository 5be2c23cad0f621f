import Foundation
import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// One way to every parameter and gradient: names, order, in-place updates, loading.
final class TrainableTests: XCTestCase {
    func smallModel(seed: UInt64) throws -> CNNLSTM {
        try CNNLSTM(frameHeight: 10, frameWidth: 10, channels: 1, filters: [3], hiddenSize: 4, outputs: 2, seed: seed)
    }

    func testNamesOrderAndGradientsAgree() throws {
        let model = try smallModel(seed: 1)
        XCTAssertEqual(model.namedParameters.map(\.name), [
            "features.0.kernel", "features.0.bias",
            "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
            "head.weight", "head.bias",
        ])
        let x = try randomTensor([2, 3, 10, 10, 1], seed: 2)
        let (y, cache) = try model.trainingForward(x)
        var gradients = model.zeroGradients()
        _ = try model.backward(outputGradient: try randomTensor(y.dimensions, seed: 3), cache: cache, into: &gradients)
        XCTAssertEqual(gradients.tensors.map(\.dimensions), model.namedParameters.map(\.tensor.dimensions))
        XCTAssertTrue(gradients.tensors.allSatisfy { $0.scalars.contains { $0 != 0 } }, "every parameter gets a gradient")
        gradients.zero()
        XCTAssertTrue(gradients.tensors.allSatisfy { $0.scalars.allSatisfy { $0 == 0 } })
        XCTAssertEqual(model.scalarCount, model.namedParameters.reduce(0) { $0 + $1.tensor.count })

        let forecaster = try CNNLSTMForecaster(frameHeight: 8, frameWidth: 8, channels: 1, filters: [2], hiddenSize: 3)
        XCTAssertEqual(forecaster.namedParameters.map(\.name).first, "encoder.0.kernel")
        XCTAssertEqual(forecaster.namedParameters.map(\.name).last, "decoder.2.bias")
        XCTAssertEqual(forecaster.zeroGradients().tensors.map(\.dimensions),
                       forecaster.namedParameters.map(\.tensor.dimensions))
    }

    func testUpdatesHappenInPlaceAndInOrder() throws {
        var model = try smallModel(seed: 1)
        func addresses() -> [UnsafeRawPointer] {
            var result: [UnsafeRawPointer] = []
            try? model.updateParameters { _, p in p.withUnsafeMutableBufferPointer { result.append(UnsafeRawPointer($0.baseAddress!)) } }
            return result
        }
        let before = addresses()
        var visited: [Int] = []
        try model.updateParameters { index, p in
            visited.append(index)
            p.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = Float(index) } }
        }
        XCTAssertEqual(visited, Array(0 ..< 8))
        XCTAssertEqual(addresses(), before, "no parameter was copied")
        for (index, entry) in model.namedParameters.enumerated() {
            XCTAssertTrue(entry.tensor.scalars.allSatisfy { $0 == Float(index) }, entry.name)
        }
        XCTAssertThrowsError(try model.updateParameters { index, p in if index == 3 { p = try Tensor(shape: [1]) } }) {
            XCTAssertTrue("\($0)".contains("lstm.weight_hh_l0") || "\($0)".contains("weight_hh_l0"), "\($0)")
        }
    }

    func testLoadParametersReproducesTheModel() throws {
        let source = try smallModel(seed: 1)
        var target = try smallModel(seed: 9)
        let x = try randomTensor([2, 3, 10, 10, 1], seed: 4)
        XCTAssertNotEqual(try source.forward(x), try target.forward(x))
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in source.namedParameters { tensors[name] = tensor }
        try target.loadParameters(tensors)
        XCTAssertEqual(try source.forward(x), try target.forward(x))
        tensors["head.bias"] = nil
        XCTAssertThrowsError(try target.loadParameters(tensors)) { XCTAssertTrue("\($0)".contains("head.bias"), "\($0)") }
        tensors["head.bias"] = try Tensor(shape: [3])
        XCTAssertThrowsError(try target.loadParameters(tensors)) { XCTAssertTrue("\($0)".contains("head.bias"), "\($0)") }
    }
}

/// Checkpoints: round trip, restore, refusal of files that are not checkpoints.
final class CheckpointTests: XCTestCase {
    func testRoundTripRestoresParametersStateAndPosition() throws {
        let directory = try TestData.temporaryDirectory("checkpoint")
        let path = directory + "/run.safetensors"
        let model = try CNNLSTM(frameHeight: 10, frameWidth: 10, channels: 1, filters: [3], hiddenSize: 4, outputs: 2, seed: 1)
        let state = OptimizerState(tensors: ["adam.exp_avg.0": try randomTensor([3, 3, 1, 3], seed: 5)],
                                   scalars: ["adam.step": 7, "adam.lr": 0.1 + 0.2, "adam.eps": 1e-8])
        try Checkpoint(model: model, optimizerState: state, epoch: 3, step: 42, metadata: ["note": "two"]).write(to: path)
        let saved = try Checkpoint.read(contentsOf: path)
        XCTAssertEqual(saved.epoch, 3)
        XCTAssertEqual(saved.step, 42)
        XCTAssertEqual(saved.metadata, ["note": "two"])
        XCTAssertEqual(saved.optimizerState, state)
        XCTAssertEqual(saved.parameters.map(\.name), model.namedParameters.map(\.name))

        var other = try CNNLSTM(frameHeight: 10, frameWidth: 10, channels: 1, filters: [3], hiddenSize: 4, outputs: 2, seed: 8)
        try saved.restore(into: &other)
        let x = try randomTensor([1, 2, 10, 10, 1], seed: 6)
        XCTAssertEqual(try other.forward(x), try model.forward(x))

        // Another architecture is refused and left unchanged.
        var wider = try CNNLSTM(frameHeight: 10, frameWidth: 10, channels: 1, filters: [3], hiddenSize: 5, outputs: 2, seed: 8)
        let before = wider.namedParameters.map(\.tensor)
        XCTAssertThrowsError(try saved.restore(into: &wider)) { XCTAssertTrue("\($0)".contains("lstm.weight_ih_l0"), "\($0)") }
        XCTAssertEqual(wider.namedParameters.map(\.tensor), before)
        var smaller = try Dense(inputSize: 4, outputSize: 2)
        XCTAssertThrowsError(try saved.restore(into: &smaller))
    }

    func testFilesThatAreNotCheckpointsAreRefused() throws {
        let directory = try TestData.temporaryDirectory("checkpoint-bad")
        try SafeTensors([.init(name: "weight", array: NumericArray(try Tensor(shape: [2])))]).write(to: directory + "/plain.safetensors")
        XCTAssertThrowsError(try Checkpoint.read(contentsOf: directory + "/plain.safetensors")) {
            XCTAssertTrue("\($0)".contains("frameseq-checkpoint-1"), "\($0)")
        }
        XCTAssertThrowsError(try Checkpoint.read(contentsOf: directory + "/missing.safetensors"))
        let model = try Dense(inputSize: 3, outputSize: 2)
        try Checkpoint(model: model, epoch: 1).write(to: directory + "/ok.safetensors")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/ok.safetensors"))
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: directory + "/truncated.safetensors"))
        XCTAssertThrowsError(try Checkpoint.read(contentsOf: directory + "/truncated.safetensors"))
    }
}
