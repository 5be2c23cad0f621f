import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// A batch of 0 sequences through the recurrent layers and Dense, as PyTorch
/// takes it: `nn.LSTM` and `nn.GRU` on a (0, T, I) input return a (0, T, D*H)
/// output and (L*D, 0, H) final states, their backward empty input gradients and
/// zero parameter gradients; `nn.Linear` maps (0, I) to (0, O). Zero timesteps
/// stay refused, as PyTorch refuses them.
final class EmptyBatchTests: XCTestCase {
    /// Gradients after a real backward, so that "left unchanged" is a visible claim.
    private func accumulated(_ lstm: LSTM) throws -> LSTMGradients {
        var gradients = lstm.zeroGradients()
        let (result, cache) = try lstm.trainingForward(try randomTensor([2, 3, lstm.inputSize], seed: 9))
        _ = try lstm.backward(outputGradient: try randomTensor(result.output.dimensions, seed: 10), finalStateGradient: nil,
                              cache: cache, into: &gradients)
        return gradients
    }

    func testLSTMTakesABatchOfZeroSequencesInEveryLayout() throws {
        var lstm = try LSTM(inputSize: 3, hiddenSize: 4, layerCount: 2, bidirectional: true, seed: 1)
        for recomputation in [Recomputation.none, .keepStatesEvery(2)] {
            lstm.recomputation = recomputation
            for (layout, input, sequences) in [(SequenceLayout.batchMajor, [0, 5, 3], [0, 5, 8]),
                                               (.timeMajor, [5, 0, 3], [5, 0, 8])] {
                for returnSequences in [true, false] {
                    let label = "\(layout), returnSequences \(returnSequences), \(recomputation)"
                    let x = try Tensor(shape: Shape(input))
                    let inference = try lstm.forward(x, layout: layout, returnSequences: returnSequences)
                    let expected = returnSequences ? sequences : [0, 8]
                    XCTAssertEqual(inference.output.dimensions, expected, label)
                    XCTAssertEqual(inference.finalState.hidden.dimensions, [4, 0, 4], label)
                    XCTAssertEqual(inference.finalState.cell.dimensions, [4, 0, 4], label)

                    let before = try accumulated(lstm)
                    var gradients = before
                    let (result, cache) = try lstm.trainingForward(x, initialState: try LSTMState.zeros(for: lstm, batch: 0),
                                                                   lengths: [], layout: layout,
                                                                   returnSequences: returnSequences, dropoutSeed: 1)
                    XCTAssertEqual(result.output.dimensions, expected, label)
                    let back = try lstm.backward(outputGradient: result.output, finalStateGradient: result.finalState,
                                                 cache: cache, into: &gradients)
                    XCTAssertEqual(back.input.dimensions, input, label)
                    XCTAssertEqual(back.initialState.hidden.dimensions, [4, 0, 4], label)
                    XCTAssertEqual(gradients, before, "\(label): an empty batch changed a parameter gradient")
                }
            }
        }
    }

    func testLSTMEmptyBatchChecksWhatItWouldCheckOtherwise() throws {
        let lstm = try LSTM(inputSize: 3, hiddenSize: 4, seed: 1)
        let x = try Tensor(shape: [0, 5, 3])
        XCTAssertThrowsError(try lstm.forward(try Tensor(shape: [0, 5, 2])), "input size")
        XCTAssertThrowsError(try lstm.forward(try Tensor(shape: [0, 0, 3])), "zero timesteps, as PyTorch")
        XCTAssertThrowsError(try lstm.forward(x, lengths: [1]), "a length for a sequence that is not there")
        XCTAssertThrowsError(try lstm.forward(x, initialState: try LSTMState.zeros(for: lstm, batch: 1)), "state of batch 1")
        let (result, cache) = try lstm.trainingForward(x)
        var gradients = lstm.zeroGradients()
        XCTAssertThrowsError(try lstm.backward(outputGradient: try Tensor(shape: [1, 5, 4]), finalStateGradient: nil,
                                               cache: cache, into: &gradients), "output gradient of another shape")
        XCTAssertThrowsError(try lstm.backward(outputGradient: result.output,
                                               finalStateGradient: try LSTMState.zeros(for: lstm, batch: 2),
                                               cache: cache, into: &gradients), "final state gradient of batch 2")
        var broken = lstm
        broken.recomputation = .keepStatesEvery(0)
        XCTAssertThrowsError(try broken.trainingForward(x), "recomputation below 1")
    }

    /// GRU gradients after a real backward, so that "left unchanged" is a visible claim.
    private func accumulated(_ gru: GRU) throws -> GRUGradients {
        var gradients = gru.zeroGradients()
        let (result, cache) = try gru.trainingForward(try randomTensor([2, 3, gru.inputSize], seed: 9))
        _ = try gru.backward(outputGradient: try randomTensor(result.output.dimensions, seed: 10), finalHiddenGradient: nil,
                             cache: cache, into: &gradients)
        return gradients
    }

    func testGRUTakesABatchOfZeroSequencesInEveryLayout() throws {
        for (bias, resetAfter, goBackwards) in [(true, true, false), (false, false, true)] {
            var gru = try GRU(inputSize: 3, hiddenSize: 4, layerCount: 2, bidirectional: true, bias: bias,
                              resetAfter: resetAfter, dropout: 0.25, seed: 1)
            gru.goBackwards = goBackwards
            gru.maskedOutput = goBackwards ? .lastValid : .zero
            for (layout, input, sequences) in [(SequenceLayout.batchMajor, [0, 5, 3], [0, 5, 8]),
                                               (.timeMajor, [5, 0, 3], [5, 0, 8])] {
                for returnSequences in [true, false] {
                    let label = "bias \(bias), goBackwards \(goBackwards), \(layout), returnSequences \(returnSequences)"
                    let x = try Tensor(shape: Shape(input))
                    let expected = returnSequences ? sequences : [0, 8]
                    let inference = try gru.forward(x, layout: layout, returnSequences: returnSequences)
                    XCTAssertEqual(inference.output.dimensions, expected, label)
                    XCTAssertEqual(inference.finalHidden.dimensions, [4, 0, 4], label)
                    let masked = try gru.forward(x, mask: try Tensor(shape: [0, 5]), layout: layout,
                                                 returnSequences: returnSequences)
                    XCTAssertEqual(masked.output.dimensions, expected, "\(label), mask")

                    let before = try accumulated(gru)
                    for useMask in [false, true] {
                        var gradients = before
                        let (result, cache) = useMask
                            ? try gru.trainingForward(x, initialHidden: try gru.zeroState(batch: 0), mask: try Tensor(shape: [0, 5]),
                                                      layout: layout, returnSequences: returnSequences, dropoutSeed: 1)
                            : try gru.trainingForward(x, initialHidden: try gru.zeroState(batch: 0), lengths: [], layout: layout,
                                                      returnSequences: returnSequences, dropoutSeed: 1)
                        XCTAssertEqual(result.output.dimensions, expected, label)
                        XCTAssertEqual(result.finalHidden.dimensions, [4, 0, 4], label)
                        let back = try gru.backward(outputGradient: result.output, finalHiddenGradient: result.finalHidden,
                                                    cache: cache, into: &gradients)
                        XCTAssertEqual(back.input.dimensions, input, label)
                        XCTAssertEqual(back.initialHidden.dimensions, [4, 0, 4], label)
                        XCTAssertEqual(gradients, before, "\(label), mask \(useMask): an empty batch changed a parameter gradient")
                    }
                }
            }
        }
    }

    func testGRUEmptyBatchChecksWhatItWouldCheckOtherwise() throws {
        let gru = try GRU(inputSize: 3, hiddenSize: 4, seed: 1)
        let x = try Tensor(shape: [0, 5, 3])
        XCTAssertThrowsError(try gru.forward(try Tensor(shape: [0, 5, 2])), "input size")
        XCTAssertThrowsError(try gru.forward(try Tensor(shape: [0, 0, 3])), "zero timesteps, as PyTorch")
        XCTAssertThrowsError(try gru.forward(x, lengths: [1]), "a length for a sequence that is not there")
        XCTAssertThrowsError(try gru.forward(x, mask: try Tensor(shape: [1, 5])), "a mask row for a sequence that is not there")
        XCTAssertThrowsError(try gru.forward(x, initialHidden: try gru.zeroState(batch: 1)), "state of batch 1")
        let (result, cache) = try gru.trainingForward(x)
        var gradients = gru.zeroGradients()
        XCTAssertThrowsError(try gru.backward(outputGradient: try Tensor(shape: [1, 5, 4]), finalHiddenGradient: nil,
                                              cache: cache, into: &gradients), "output gradient of another shape")
        XCTAssertThrowsError(try gru.backward(outputGradient: result.output, finalHiddenGradient: try gru.zeroState(batch: 2),
                                              cache: cache, into: &gradients), "final state gradient of batch 2")
        let bigger = try GRU(inputSize: 3, hiddenSize: 4, layerCount: 2, seed: 1)
        var biggerGradients = bigger.zeroGradients()
        XCTAssertThrowsError(try bigger.backward(outputGradient: result.output, cache: cache, into: &biggerGradients),
                             "a cache of another GRU")
        // A stream carries live sequences: it refuses an empty batch, as LSTMStream does.
        XCTAssertThrowsError(try GRUStream(gru, batch: 0))
    }

    func testConvLSTM2DTakesABatchOfZeroSequences() throws {
        let layer = try smallConvLSTM(channels: 2, filters: 3, kernel: (3, 3), strides: (2, 2), padding: .same,
                                      peepholeGrid: (4, 3), seed: 4)
        let x = try Tensor(shape: [0, 5, 7, 6, 2])
        for returnSequences in [true, false] {
            let expected = returnSequences ? [0, 5, 4, 3, 3] : [0, 4, 3, 3]
            XCTAssertEqual(try layer.outputDimensions(forInput: x.dimensions, returnSequences: returnSequences), expected)
            XCTAssertEqual(try layer.forward(x, returnSequences: returnSequences).output.dimensions, expected)
            var gradients = layer.zeroGradients()
            let (warm, warmCache) = try layer.trainingForward(try randomTensor([1, 5, 7, 6, 2], seed: 5))
            _ = try layer.backward(outputGradient: try randomTensor(warm.output.dimensions, seed: 6), finalStateGradient: nil,
                                   cache: warmCache, into: &gradients)
            let before = gradients
            let (result, cache) = try layer.trainingForward(x, lengths: [], returnSequences: returnSequences)
            XCTAssertEqual(result.output.dimensions, expected)
            XCTAssertEqual(result.finalState.hidden.dimensions, [0, 4, 3, 3])
            let back = try layer.backward(outputGradient: result.output, finalStateGradient: result.finalState, cache: cache,
                                          into: &gradients)
            XCTAssertEqual(back.input.dimensions, x.dimensions)
            XCTAssertEqual(back.initialState.cell.dimensions, [0, 4, 3, 3])
            XCTAssertEqual(gradients, before, "an empty batch changed a parameter gradient")
            XCTAssertThrowsError(try layer.backward(outputGradient: warm.output, finalStateGradient: nil, cache: cache,
                                                    into: &gradients), "output gradient of batch 1")
        }
        XCTAssertThrowsError(try layer.forward(try Tensor(shape: [0, 0, 7, 6, 2])), "zero timesteps")
        XCTAssertThrowsError(try layer.forward(try Tensor(shape: [0, 5, 7, 6, 3])), "channels")
    }

    func testDenseTakesInputsOfNoRows() throws {
        let dense = try Dense(inputSize: 3, outputSize: 2, activation: .tanh, seed: 1)
        for shape in [[0, 3], [4, 0, 3], [0, 5, 3]] {
            let (y, cache) = try dense.trainingForward(try Tensor(shape: Shape(shape)))
            XCTAssertEqual(y.dimensions, shape.dropLast() + [2])
            var gradients = dense.zeroGradients()
            gradients.weight.fill(with: 0.5)
            let before = gradients
            XCTAssertEqual(try dense.backward(outputGradient: y, cache: cache, into: &gradients).dimensions, shape)
            XCTAssertEqual(gradients, before)
        }
        XCTAssertThrowsError(try dense.forward(try Tensor(shape: [0, 4])), "input size")
    }
}
