import Dispatch
import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// One model shared by several threads for inference (each with its own
/// inputs) gives exactly what serial calls give: models are values whose
/// forward passes share only immutable weights, and the process-wide caches
/// (GEMM workspaces, large buffers, the worker pool) are safe to share.
final class ConcurrentInferenceTests: XCTestCase {
    /// `forward` on `inputs[i]` for every `i`, serially and as 6 concurrent calls
    /// (`concurrentPerform`, which runs as many at once as there are cores: 2 on
    /// the CI machine; twice, so calls overlap with pool jobs and cache
    /// hand-overs), compared bit for bit.
    func assertConcurrentEqualsSerial(_ label: String, inputs: [Tensor], _ forward: @Sendable (Tensor) throws -> Tensor) throws {
        let serial = try inputs.map(forward)
        for round in 0 ..< 2 {
            let results = Locked<[Int: Result<Tensor, any Error>]>([:])
            DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
                let result = Result { try forward(inputs[index]) }
                results.withLock { $0[index] = result }
            }
            let concurrent = results.withLock { $0 }
            for index in inputs.indices {
                let output = try XCTUnwrap(concurrent[index], "\(label) call \(index)").get()
                let comparison = compare("\(label) round \(round) call \(index)", actual: output.scalars,
                                         expected: serial[index].scalars)
                XCTAssert(comparison.passed && output.dimensions == serial[index].dimensions, comparison.description)
            }
        }
    }

    let calls = 6

    func testOneLSTMFromSixThreadsEqualsSerialCalls() throws {
        // Batch 32 x hidden 64 is above the LSTM's threading threshold, so the
        // calls also contend for the worker pool.
        let lstm = try LSTM(inputSize: 24, hiddenSize: 64, layerCount: 2, seed: 1)
        let inputs = try (0 ..< calls).map { try randomTensor([32, 7, 24], seed: 10 + UInt64($0)) }
        try assertConcurrentEqualsSerial("LSTM", inputs: inputs) { try lstm.forward($0).output }
    }

    func testOneCNNLSTMFromSixThreadsEqualsSerialCalls() throws {
        let model = try CNNLSTM(frameHeight: 20, frameWidth: 20, channels: 1, filters: [8, 8], hiddenSize: 16,
                                outputs: 3, seed: 2)
        let inputs = try (0 ..< calls).map { try randomTensor([4, 5, 20, 20, 1], seed: 20 + UInt64($0)) }
        try assertConcurrentEqualsSerial("CNN-LSTM", inputs: inputs) { try model.forward($0) }
    }

    func testOneConvLSTMForecasterFromSixThreadsEqualsSerialCalls() throws {
        let model = try ConvLSTMForecaster(frameHeight: 12, frameWidth: 12, channels: 1, filters: [6], horizon: 2, seed: 3)
        let inputs = try (0 ..< calls).map { try randomTensor([2, 4, 12, 12, 1], seed: 30 + UInt64($0), scale: 0.5) }
        try assertConcurrentEqualsSerial("ConvLSTM", inputs: inputs) { try model.forward($0) }
    }
}
