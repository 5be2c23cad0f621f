import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// The GRU forecaster (an FC-GRU here): stepping equals the sequence pass, the
/// model survives a named-parameter round trip, and the GRU's footprint
/// counts exactly what its training pass keeps.
final class CNNGRUForecasterTests: XCTestCase {
    /// Flatten, a GRU of 5 units, a Dense (sigmoid) back to 4 x 3 x 2 frames.
    private func fcGRU(layers: Int = 1) throws -> CNNGRUForecaster {
        CNNGRUForecaster(encoder: TimeDistributed(try Sequential([.flatten])),
                         gru: try GRU(inputSize: 24, hiddenSize: 5, layerCount: layers, seed: 1),
                         decoder: TimeDistributed(try Sequential([
                             .dense(try Dense(inputSize: 5, outputSize: 24, activation: .sigmoid, seed: 2)), .reshape([4, 3, 2]),
                         ])))
    }

    /// T one-step calls from the carried state equal one T-step pass, and the
    /// final states agree.
    func testStepsEqualTheSequencePass() throws {
        let model = try fcGRU(layers: 2)
        let frames = try randomTensor([2, 4, 4, 3, 2], seed: 3, scale: 0.5)
        let (whole, finalState) = try model.forward(frames)
        XCTAssertEqual(whole.dimensions, [2, 4, 4, 3, 2])
        XCTAssertEqual(finalState.dimensions, [2, 2, 5])
        var state = try model.zeroState(batch: 2)
        for t in 0 ..< 4 {
            let (prediction, next) = try model.step(try timestep(frames, t), from: state)
            requireClose(compare("step \(t)", actual: prediction.scalars, expected: try timestep(whole, t).scalars,
                                 atol: 1e-6, rtol: 1e-5))
            state = next
        }
        requireClose(compare("final state", actual: state.scalars, expected: finalState.scalars, atol: 1e-6, rtol: 1e-5))
        // As a Layer it is the same pass from zeros; padded batches are refused.
        XCTAssertEqual(try model.forward(frames, context: LayerContext()), whole)
        XCTAssertThrowsError(try model.forward(frames, context: LayerContext(lengths: [4, 3])))
    }

    func testPartsAndParametersAreTheBodys() throws {
        var model = try fcGRU()
        XCTAssertEqual(model.body.names, ["encoder", "gru", "decoder"])
        XCTAssertEqual(model.namedParameters.map(\.name).prefix(2), ["gru.weight_ih_l0", "gru.weight_hh_l0"])
        XCTAssertEqual(model.scalarCount, GRU.parameterCount(inputSize: 24, hiddenSize: 5) + 5 * 24 + 24)
        // A replacement GRU returns every step whatever it was made with.
        var last = try GRU(inputSize: 24, hiddenSize: 5, seed: 9)
        last.returnSequences = false
        model.gru = last
        XCTAssertTrue(model.gru.returnSequences)
        XCTAssertEqual(try model.forward(try randomTensor([1, 3, 4, 3, 2], seed: 4)).frames.dimensions, [1, 3, 4, 3, 2])
    }

    /// The estimate's parameter count is the GRU's own, for every shape option.
    func testParameterCountMatchesTheLayers() throws {
        for (layers, bidirectional, bias) in [(1, false, true), (2, true, true), (3, false, false)] {
            let gru = try GRU(inputSize: 7, hiddenSize: 4, layerCount: layers, bidirectional: bidirectional, bias: bias)
            XCTAssertEqual(GRU.parameterCount(inputSize: 7, hiddenSize: 4, layerCount: layers, bidirectional: bidirectional,
                                              bias: bias), gru.scalarCount, "\(layers) layers, bidirectional \(bidirectional)")
        }
    }

    /// The retained bytes are the training cache's records, the inputs it
    /// keeps of the layers above the first (the first's is the caller's),
    /// their dropout masks, the output and the final state, float for float.
    func testFootprintRetainsWhatTheTrainingPassKeeps() throws {
        for (layers, bidirectional, dropout, sequences) in [(1, false, Float(0), true), (2, true, 0.3, true), (2, false, 0, false)] {
            var gru = try GRU(inputSize: 6, hiddenSize: 4, layerCount: layers, bidirectional: bidirectional, dropout: dropout, seed: 5)
            gru.returnSequences = sequences
            let input = try randomTensor([3, 5, 6], seed: 6)
            let (result, cache) = try gru.trainingForward(input, returnSequences: sequences, dropoutSeed: 7)
            let kept = cache.records.map(\.count).reduce(0, +) + cache.layerInputs.dropFirst().map(\.count).reduce(0, +)
                + cache.dropoutMasks.compactMap { $0?.count }.reduce(0, +) + result.output.count + result.finalHidden.count
            let footprint = try gru.activationFootprint(inputDimensions: [3, 5, 6])
            XCTAssertEqual(footprint.retainedBytes, 4 * kept, "\(layers) layers, bidirectional \(bidirectional), dropout \(dropout)")
            XCTAssertEqual(footprint.outputDimensions, result.output.dimensions)
            XCTAssertGreaterThanOrEqual(footprint.forwardPeakBytes, footprint.retainedBytes)
            // Backward holds at least the input gradient, the workspace and both state gradients.
            let workspace = 2 * 15 * 12 + 3 * 3 * 4
            XCTAssertGreaterThanOrEqual(footprint.backwardPeakBytes, 4 * (input.count + workspace + 2 * result.finalHidden.count))
        }
        XCTAssertThrowsError(try GRU(inputSize: 6, hiddenSize: 4).activationFootprint(inputDimensions: [3, 5, 7]))
    }

    /// The model's footprint is its encoder's, the GRU's and its decoder's in a
    /// chain, and every retained byte scales with the batch.
    func testModelFootprintComposesItsParts() throws {
        let model = try fcGRU()
        let one = try model.activationFootprint(inputDimensions: [1, 4, 4, 3, 2])
        let three = try model.activationFootprint(inputDimensions: [3, 4, 4, 3, 2])
        XCTAssertEqual(three.retainedBytes, 3 * one.retainedBytes)
        XCTAssertEqual(three.forwardFlops, 3 * one.forwardFlops)
        XCTAssertEqual(three.outputDimensions, [3, 4, 4, 3, 2])
        let recurrence = GRU.estimatedFootprint(inputSize: 24, hiddenSize: 5, inputDimensions: [3, 4, 24])
        XCTAssertGreaterThan(three.retainedBytes, recurrence.retainedBytes)
    }
}
