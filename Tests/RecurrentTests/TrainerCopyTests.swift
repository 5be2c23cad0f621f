import FrameSequencing
import XCTest
@testable import Recurrent

/// A Trainer step with the package's optimizers updates the parameters and the
/// optimizer state in place: the check before the update holds no second
/// reference to either, so no tensor is copied on write (a copy of Adam's two
/// moments is twice the parameters' bytes, every step).
final class TrainerCopyTests: XCTestCase {
    func address(_ tensor: Tensor) -> UInt { tensor.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }

    /// Storage addresses of every parameter and state tensor, in a fixed order
    /// (the tensors themselves are not kept, which would force the copies).
    func addresses<O: Optimizer>(_ trainer: Trainer<CNNLSTM, O>) -> [UInt] {
        trainer.model.namedParameters.map { address($0.tensor) }
            + trainer.optimizer.exportState().tensors.sorted { $0.key < $1.key }.map { address($0.value) }
    }

    func assertUpdatesInPlace<O: Optimizer>(_ optimizer: O, file: StaticString = #filePath, line: UInt = #line) throws {
        let values = (0 ..< 40).map { Float($0 % 7) / 7 }
        let frames = try FrameStack(stacked: values, frameShape: try FrameShape(height: 1, width: 1, channels: 1))
        let batches = try frames.windows(WindowParameters(sequenceLength: 5, target: .frameAfter(steps: 1))).batches(size: 4)
        let model = try CNNLSTM(features: TimeDistributed(try Sequential([.flatten])), lstm: try LSTM(inputSize: 1, hiddenSize: 6, seed: 4),
                                head: try Dense(inputSize: 6, outputSize: 1, seed: 5))
        var trainer = try Trainer(model: model, optimizer: optimizer, loss: MeanSquaredError())
        var buffer = try batches.makeBuffer(layout: .batchMajor)
        try batches.fill(0, into: &buffer)
        var gradients = trainer.model.zeroGradients()
        _ = try trainer.trainingStep(buffer, gradients: &gradients, learningRate: 0.01, clipping: nil)   // creates the state
        let before = addresses(trainer)
        XCTAssertGreaterThan(before.count, trainer.model.parameterCount, "the optimizer has state", file: file, line: line)
        for _ in 0 ..< 3 {
            _ = try trainer.trainingStep(buffer, gradients: &gradients, learningRate: 0.01, clipping: nil)
        }
        XCTAssertEqual(addresses(trainer), before, "\(O.self): every tensor updated in place", file: file, line: line)
    }

    func testStepsWithThePackagesOptimizersCopyNothing() throws {
        try assertUpdatesInPlace(try Adam(learningRate: 0.01, amsgrad: true))
        try assertUpdatesInPlace(try AdamW(learningRate: 0.01))
        try assertUpdatesInPlace(try SGD(learningRate: 0.01, momentum: 0.9))
    }
}
