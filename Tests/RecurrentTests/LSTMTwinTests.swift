import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// The LSTM's fast paths (packed GEMM, fused steps, the active kernel path; both
/// layouts, stacks, both directions, padded sequences) against the Double loops of
/// `LSTMReference.swift`, forward and every gradient, on odd sizes.
final class LSTMTwinTests: XCTestCase {
    private struct Case {
        var batch: Int, steps: Int, input: Int, hidden: Int, layers = 1, bidirectional = false
        var lengths: [Int]? = nil, layout = SequenceLayout.batchMajor
    }

    private let cases = [
        Case(batch: 1, steps: 1, input: 1, hidden: 1),
        Case(batch: 7, steps: 9, input: 17, hidden: 7, lengths: [9, 1, 0, 5, 9, 3, 8]),
        Case(batch: 9, steps: 7, input: 9, hidden: 17, bidirectional: true, lengths: [7, 6, 5, 4, 3, 2, 1, 0, 7]),
        Case(batch: 3, steps: 17, input: 7, hidden: 9, layers: 2, bidirectional: true, lengths: [17, 4, 9]),
        Case(batch: 7, steps: 9, input: 9, hidden: 7, layers: 2, layout: .timeMajor),
        Case(batch: 2, steps: 5, input: 67, hidden: 33, layers: 1, bidirectional: true),   // past one vector's width
    ]

    /// (B, T, F) from `layout`'s order, or back.
    private func batchMajor(_ values: [Float], _ c: Case, features: Int, from layout: SequenceLayout) -> [Float] {
        guard layout == .timeMajor else { return values }
        var out = [Float](repeating: 0, count: values.count)
        for b in 0 ..< c.batch {
            for t in 0 ..< c.steps {
                for f in 0 ..< features { out[(b * c.steps + t) * features + f] = values[(t * c.batch + b) * features + f] }
            }
        }
        return out
    }

    /// Columns `direction * H ..< (direction + 1) * H` of a (B, T, D*H) array, and back.
    private func half(_ values: [Float], _ c: Case, direction: Int) -> [Float] {
        let (d, h) = (c.bidirectional ? 2 : 1, c.hidden)
        var out: [Float] = []
        for row in 0 ..< c.batch * c.steps {
            let start = (row * d + direction) * h
            out += values[start ..< start + h]
        }
        return out
    }

    private func interleave(_ halves: [[Float]], _ c: Case) -> [Float] {
        var out: [Float] = []
        for row in 0 ..< c.batch * c.steps {
            for values in halves { out += values[row * c.hidden ..< (row + 1) * c.hidden] }
        }
        return out
    }

    private func slab(_ tensor: Tensor, _ index: Int) -> [Float] {
        let size = tensor.count / tensor.dimensions[0]
        return Array(tensor.scalars[index * size ..< (index + 1) * size])
    }

    func testForwardAndBackwardEqualTheScalarTwin() throws {
        for (index, c) in cases.enumerated() {
            let lstm = try LSTM(inputSize: c.input, hiddenSize: c.hidden, layerCount: c.layers, bidirectional: c.bidirectional,
                                seed: 100 + UInt64(index))
            let d = c.bidirectional ? 2 : 1
            let inputShape = c.layout == .timeMajor ? [c.steps, c.batch, c.input] : [c.batch, c.steps, c.input]
            let outputShape = c.layout == .timeMajor ? [c.steps, c.batch, d * c.hidden] : [c.batch, c.steps, d * c.hidden]
            let x = try randomTensor(inputShape, seed: 200 + UInt64(index))
            let state = LSTMState(hidden: try randomTensor([c.layers * d, c.batch, c.hidden], seed: 300, scale: 0.5),
                                  cell: try randomTensor([c.layers * d, c.batch, c.hidden], seed: 301, scale: 0.5))
            let g = try randomTensor(outputShape, seed: 400 + UInt64(index))
            let finalGradient = LSTMState(hidden: try randomTensor(state.hidden.dimensions, seed: 500),
                                          cell: try randomTensor(state.cell.dimensions, seed: 501))
            let (result, cache) = try lstm.trainingForward(x, initialState: state, lengths: c.lengths, layout: c.layout)
            var gradients = lstm.zeroGradients()
            let inputs = try lstm.backward(outputGradient: g, finalStateGradient: finalGradient, cache: cache, into: &gradients)

            // The stack by hand: each layer-direction from its twin, layer l + 1 reading
            // layer l's directions side by side.
            var layerInputs = [batchMajor(x.scalars, c, features: c.input, from: c.layout)]
            var expectedHidden = [Float](), expectedCell = [Float]()
            for layer in 0 ..< c.layers {
                var outputs: [[Float]] = []
                for direction in 0 ..< d {
                    let entry = layer * d + direction
                    let twin = LSTMReferenceDirection(lstm.layers[entry], reversed: direction == 1)
                    let r = lstmReferenceForward(twin, input: layerInputs[layer], batch: c.batch, timesteps: c.steps,
                                                 initialHidden: slab(state.hidden, entry), initialCell: slab(state.cell, entry),
                                                 lengths: c.lengths)
                    outputs.append(r.output)
                    expectedHidden += r.finalHidden
                    expectedCell += r.finalCell
                }
                layerInputs.append(interleave(outputs, c))
            }
            let name = "case \(index)"
            requireClose(compare("\(name) output", actual: batchMajor(result.output.scalars, c, features: d * c.hidden, from: c.layout),
                                 expected: layerInputs[c.layers], atol: 2e-6, rtol: 2e-5))
            requireClose(compare("\(name) h_n", actual: result.finalState.hidden.scalars, expected: expectedHidden, atol: 2e-6, rtol: 2e-5))
            requireClose(compare("\(name) c_n", actual: result.finalState.cell.scalars, expected: expectedCell, atol: 2e-6, rtol: 2e-5))

            // Backward from the top layer down, each layer's input gradient the sum of its directions'.
            var outputGradient = batchMajor(g.scalars, c, features: d * c.hidden, from: c.layout)
            for layer in (0 ..< c.layers).reversed() {
                let features = layer == 0 ? c.input : d * c.hidden
                var inputGradient = [Float](repeating: 0, count: c.batch * c.steps * features)
                for direction in 0 ..< d {
                    let entry = layer * d + direction
                    let twin = LSTMReferenceDirection(lstm.layers[entry], reversed: direction == 1)
                    let r = lstmReferenceBackward(
                        twin, input: layerInputs[layer], batch: c.batch, timesteps: c.steps,
                        initialHidden: slab(state.hidden, entry), initialCell: slab(state.cell, entry), lengths: c.lengths,
                        outputGradient: half(outputGradient, c, direction: direction),
                        finalHiddenGradient: slab(finalGradient.hidden, entry), finalCellGradient: slab(finalGradient.cell, entry))
                    let mine = gradients.layers[entry]
                    for (label, actual, expected) in [("dW_ih", mine.inputWeights, r.inputWeights), ("dW_hh", mine.recurrentWeights, r.recurrentWeights),
                                                      ("db_ih", mine.inputBias, r.inputBias), ("db_hh", mine.recurrentBias, r.recurrentBias)] {
                        requireClose(compare("\(name) layer \(layer) direction \(direction) \(label)", actual: actual.scalars,
                                             expected: expected, atol: 2e-5, rtol: 2e-4))
                    }
                    requireClose(compare("\(name) entry \(entry) dh_0", actual: slab(inputs.initialState.hidden, entry),
                                         expected: r.initialHidden, atol: 2e-5, rtol: 2e-4))
                    requireClose(compare("\(name) entry \(entry) dc_0", actual: slab(inputs.initialState.cell, entry),
                                         expected: r.initialCell, atol: 2e-5, rtol: 2e-4))
                    for k in inputGradient.indices { inputGradient[k] += r.input[k] }
                }
                outputGradient = inputGradient
            }
            requireClose(compare("\(name) dInput", actual: batchMajor(inputs.input.scalars, c, features: c.input, from: c.layout),
                                 expected: outputGradient, atol: 2e-5, rtol: 2e-4))
        }
    }
}
