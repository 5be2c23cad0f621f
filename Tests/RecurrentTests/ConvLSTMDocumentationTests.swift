import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// The doc comment examples of ConvLSTM2D, ConvLSTMStream and
/// ConvLSTMForecaster, run as written on small made-up data.
final class ConvLSTMDocumentationTests: XCTestCase {
    func testConvLSTM2DExample() throws {
        let frames = try randomTensor([2, 5, 8, 8, 1], seed: 1)      // (B, T, H, W, C)
        let layer = try ConvLSTM2D(inputChannels: 1, filters: 16, kernelSize: (3, 3), padding: .same, seed: 1)
        let result = try layer.forward(frames)                  // (B, T, H, W, 16) and (h, c)
        XCTAssertEqual(result.output.dimensions, [2, 5, 8, 8, 16])
        XCTAssertEqual(result.finalState.cell.dimensions, [2, 8, 8, 16])
        let (train, cache) = try layer.trainingForward(frames, lengths: [5, 3])
        let g = try randomTensor(train.output.dimensions, seed: 2)
        var gradients = layer.zeroGradients()
        let dInputs = try layer.backward(outputGradient: g, finalStateGradient: nil, cache: cache, into: &gradients)
        XCTAssertEqual(dInputs.input.dimensions, frames.dimensions)
    }

    func testConvLSTMStreamExample() throws {
        let layer = try ConvLSTM2D(inputChannels: 1, filters: 4, kernelSize: (3, 3), padding: .same, seed: 2)
        let frames = try (0 ..< 3).map { try randomTensor([1, 64, 64, 1], seed: 3 + UInt64($0)) }
        var stream = try ConvLSTMStream(layer, batch: 1, frameSize: (64, 64))
        for frame in frames {
            let h = try stream.step(frame)       // (1, 64, 64, filters) for a (1, 64, 64, C) frame
            XCTAssertEqual(h.dimensions, [1, 64, 64, 4])
        }
        stream.reset()                           // back to the zero (or given) state
        XCTAssertEqual(stream.state.hidden.scalars.allSatisfy { $0 == 0 }, true)
    }

    func testConvLSTMForecasterExample() throws {
        let frames = try randomTensor([1, 2, 16, 16, 1], seed: 5)
        let model = try ConvLSTMForecaster(frameHeight: 16, frameWidth: 16, channels: 1, filters: [8, 8], horizon: 3, seed: 1)
        let future = try model.forward(frames)                   // (B, 3, 16, 16, 1) for (B, T, 16, 16, 1)
        XCTAssertEqual(future.dimensions, [1, 3, 16, 16, 1])
        let (predicted, cache) = try model.trainingForward(frames)
        let dPredicted = try randomTensor(predicted.dimensions, seed: 6)
        var gradients = model.zeroGradients()
        let dFrames = try model.backward(outputGradient: dPredicted, cache: cache, into: &gradients)
        XCTAssertEqual(dFrames.dimensions, frames.dimensions)
    }
}
