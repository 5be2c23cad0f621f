import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Recurrent layers composed through `RecurrentLayer`: stacks that carry one
/// state per layer and an encoder-forecaster over any recurrence, proven by
/// finite differences and against the layers' own methods.
final class RecurrentCompositionTests: XCTestCase {
    func lstmStack(_ sizes: [Int], output: RecurrentStack<LSTM>.Output = .top, seed: UInt64) throws -> RecurrentStack<LSTM> {
        try RecurrentStack(zip(sizes, sizes.dropFirst()).enumerated().map { index, pair in
            try LSTM(inputSize: pair.0, hiddenSize: pair.1, seed: seed + UInt64(index))
        }, output: output)
    }

    func testAStackEqualsItsLayersRunInTurn() throws {
        let stack = try lstmStack([3, 4, 2], seed: 1)
        let x = try randomTensor([2, 5, 3], seed: 2)
        let (output, states) = try stack.forward(x, from: nil, returnSequences: true, context: LayerContext())
        let first = try stack.layers[0].forward(x)
        let second = try stack.layers[1].forward(first.output)
        XCTAssertEqual(output, second.output)
        XCTAssertEqual(states, [first.finalState, second.finalState])
        XCTAssertEqual(try stack.outputDimensions(forInput: [2, 5, 3]), [2, 5, 2])

        let concatenated = try lstmStack([3, 4, 2], output: .concatenated, seed: 1)
        let both = try concatenated.forward(x, context: LayerContext())
        XCTAssertEqual(both.dimensions, [2, 5, 6])
        XCTAssertEqual(try concatenated.outputDimensions(forInput: [2, 5, 3]), [2, 5, 6])
        let values = both.scalars
        for row in 0 ..< 10 {
            XCTAssertEqual(Array(values[row * 6 ..< row * 6 + 4]), Array(first.output.scalars[row * 4 ..< row * 4 + 4]))
            XCTAssertEqual(Array(values[row * 6 + 4 ..< row * 6 + 6]), Array(second.output.scalars[row * 2 ..< row * 2 + 2]))
        }
    }

    /// Backward through a concatenated stack from given states: the input, the
    /// initial states and a lower layer's weights against finite differences.
    func testStackGradientsMatchFiniteDifferences() throws {
        var stack = try lstmStack([2, 3, 2], output: .concatenated, seed: 3)
        let x = try randomTensor([2, 3, 2], seed: 4, scale: 0.5)
        let h0 = try stack.layers.map { try LSTMState(hidden: randomTensor([1, 2, $0.hiddenSize], seed: 5, scale: 0.5),
                                                        cell: randomTensor([1, 2, $0.hiddenSize], seed: 6, scale: 0.5)) }
        let (y, finals, cache) = try stack.trainingForward(x, from: h0, returnSequences: true, context: LayerContext())
        let g = try randomTensor(y.dimensions, seed: 7)
        let gh = try finals.map { try LSTMState(hidden: randomTensor($0.hidden.dimensions, seed: 8), cell: randomTensor($0.cell.dimensions, seed: 9)) }
        var gradients = stack.zeroGradients()
        let (dx, dStates) = try stack.backward(outputGradient: g, finalStateGradient: gh, cache: cache, into: &gradients)
        let original = stack
        func loss(_ s: RecurrentStack<LSTM>, _ input: Tensor, _ states: [LSTMState]) throws -> Double {
            let (out, last) = try s.forward(input, from: states, returnSequences: true, context: LayerContext())
            return dot(out, g) + zip(last, gh).reduce(0) { $0 + dot($1.0.hidden, $1.1.hidden) + dot($1.0.cell, $1.1.cell) }
        }
        let results = [
            try finiteDifferenceCheck("input", x, analytic: dx) { try loss(original, $0, h0) },
            try finiteDifferenceCheck("h0 of layer 0", h0[0].hidden, analytic: dStates[0].hidden) {
                try loss(original, x, [LSTMState(hidden: $0, cell: h0[0].cell), h0[1]])
            },
            try finiteDifferenceCheck("layer 0 input weights", original.layers[0].layers[0].inputWeights,
                                      analytic: gradients.layers[0].layers[0].inputWeights) {
                stack.layers[0].layers[0].inputWeights = $0; defer { stack = original }; return try loss(stack, x, h0)
            },
        ]
        for result in results where !result.passed { XCTFail("\(result)") }
    }

    /// An LSTM encoder-forecaster: the forecast is driven by the copied state
    /// alone, and the encoder learns through it.
    func testAnEncoderForecasterOverLSTMs() throws {
        var model = try EncoderForecaster(encoder: lstmStack([2, 3], seed: 10), forecaster: lstmStack([2, 3], seed: 20), horizon: 4)
        XCTAssertEqual(model.namedParameters.map(\.name).first, "encoder.0.weight_ih_l0")
        XCTAssertEqual(model.namedParameters.map(\.name).last, "forecaster.0.bias_hh_l0")
        let x = try randomTensor([2, 5, 2], seed: 11, scale: 0.5)
        let (y, cache) = try model.trainingForward(x, context: LayerContext())
        XCTAssertEqual(y.dimensions, [2, 4, 3])
        XCTAssertEqual(try model.outputDimensions(forInput: x.dimensions), y.dimensions)
        XCTAssertEqual(try model.forward(x, context: LayerContext()), y)
        let state = try model.encode(x)
        XCTAssertEqual(try model.forecast(from: state), y, "encode then forecast is the forward pass")

        let g = try randomTensor(y.dimensions, seed: 12)
        var gradients = model.zeroGradients()
        let dx = try model.backward(outputGradient: g, cache: cache, into: &gradients)
        XCTAssert(gradients.forecaster.layers[0].layers[0].inputWeights.scalars.allSatisfy { $0 == 0 }, "zero input frames")
        let original = model
        let results = [
            try finiteDifferenceCheck("input", x, analytic: dx) { dot(try original.forward($0, context: LayerContext()), g) },
            try finiteDifferenceCheck("encoder recurrent weights", original.encoder.layers[0].layers[0].recurrentWeights,
                                      analytic: gradients.encoder.layers[0].layers[0].recurrentWeights) {
                model.encoder.layers[0].layers[0].recurrentWeights = $0; defer { model = original }
                return dot(try model.forward(x, context: LayerContext()), g)
            },
        ]
        for result in results where !result.passed { XCTFail("\(result)") }
    }

    func testEmptyStacksAndWrongStatesThrow() throws {
        var stack = try lstmStack([2, 3], seed: 1)
        XCTAssertThrowsError(try RecurrentStack<LSTM>([]))
        XCTAssertThrowsError(try stack.forward(try randomTensor([1, 2, 2], seed: 1), from: [], returnSequences: true, context: LayerContext()))
        stack.layers = []
        XCTAssertThrowsError(try stack.forward(try randomTensor([1, 2, 2], seed: 1), context: LayerContext()))
        XCTAssertThrowsError(try stack.outputDimensions(forInput: [1, 2, 2]))
        XCTAssertThrowsError(try EncoderForecaster(encoder: lstmStack([2, 3], seed: 1), forecaster: lstmStack([2, 3], seed: 2), horizon: 0))
        let lstm = try LSTM(inputSize: 2, hiddenSize: 3, seed: 1)
        let flat = CellState(hidden: try randomTensor([3], seed: 1), cell: try randomTensor([3], seed: 2))
        XCTAssertThrowsError(try lstm.zeroInput(timesteps: 2, after: flat), "a state of the wrong rank throws, not traps")
    }
}
