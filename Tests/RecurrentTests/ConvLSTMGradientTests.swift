import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Finite differences of `L = sum(output * g) + sum(h_n * gh) + sum(c_n * gc)`
/// against backward, for the input, the initial state and every parameter,
/// peepholes included.
final class ConvLSTMGradientTests: XCTestCase {
    struct Case {
        var reversed = false, peepholes = true, lengths: [Int]? = nil, returnSequences = true
        var kernel = (3, 2), strides = (1, 1), padding = ConvolutionPadding.same, frame = (3, 3)
        /// (B, T) rows of 0 and 1, given as `mask:` instead of lengths.
        var mask: [Float]? = nil, maskedOutput = MaskedOutput.zero
    }

    func check(_ c: Case, line: UInt = #line) throws {
        let input = [2, 3, c.frame.0, c.frame.1, 1]
        let probe = try smallConvLSTM(channels: 1, kernel: c.kernel, strides: c.strides, padding: c.padding, seed: 1)
        let grid = try probe.stateDimensions(forFrame: c.frame)
        var layer = try smallConvLSTM(channels: 1, kernel: c.kernel, strides: c.strides, padding: c.padding,
                                      reversed: c.reversed, peepholeGrid: c.peepholes ? (grid.height, grid.width) : nil,
                                      seed: 70)
        layer.maskedOutput = c.maskedOutput
        let x = try randomTensor(input, seed: 71)
        let state = try randomState(layer, input: input, seed: 72)
        let mask = try c.mask.map { try Tensor(shape: [2, 3], scalars: $0) }
        let (reference, cache) = try mask.map { try layer.trainingForward(x, initialState: state, mask: $0, returnSequences: c.returnSequences) }
            ?? layer.trainingForward(x, initialState: state, lengths: c.lengths, returnSequences: c.returnSequences)
        let g = try randomTensor(reference.output.dimensions, seed: 74)
        let gh = try randomTensor(state.hidden.dimensions, seed: 75)
        let gc = try randomTensor(state.cell.dimensions, seed: 76)
        var gradients = layer.zeroGradients()
        let inputs = try layer.backward(outputGradient: g, finalStateGradient: ConvLSTMState(hidden: gh, cell: gc),
                                        cache: cache, into: &gradients)

        func loss(_ model: ConvLSTM2D, _ x: Tensor, _ h0: Tensor, _ c0: Tensor) throws -> Double {
            let initial = ConvLSTMState(hidden: h0, cell: c0)
            let r = try mask.map { try model.forward(x, initialState: initial, mask: $0, returnSequences: c.returnSequences) }
                ?? model.forward(x, initialState: initial, lengths: c.lengths, returnSequences: c.returnSequences)
            return dot(r.output, g) + dot(r.finalState.hidden, gh) + dot(r.finalState.cell, gc)
        }
        var results = [
            try finiteDifferenceCheck("input", x, analytic: inputs.input) { try loss(layer, $0, state.hidden, state.cell) },
            try finiteDifferenceCheck("h0", state.hidden, analytic: inputs.initialState.hidden) { try loss(layer, x, $0, state.cell) },
            try finiteDifferenceCheck("c0", state.cell, analytic: inputs.initialState.cell) { try loss(layer, x, state.hidden, $0) },
        ]
        let original = layer
        let parameters: [(String, WritableKeyPath<ConvLSTM2D, Tensor>, Tensor)] = [
            ("kernel", \.kernel, gradients.kernel), ("recurrentKernel", \.recurrentKernel, gradients.recurrentKernel),
            ("bias", \.bias, gradients.bias),
        ]
        for (name, path, analytic) in parameters {
            results.append(try finiteDifferenceCheck(name, original[keyPath: path], analytic: analytic) { value in
                layer = original
                layer[keyPath: path] = value
                return try loss(layer, x, state.hidden, state.cell)
            })
        }
        if c.peepholes {
            for (name, path) in [("peephole i", \ConvLSTMPeepholes.input), ("peephole f", \.forget), ("peephole o", \.output)] {
                results.append(try finiteDifferenceCheck(name, original.peepholes![keyPath: path],
                                                         analytic: gradients.peepholes![keyPath: path]) { value in
                    layer = original
                    layer.peepholes![keyPath: path] = value
                    return try loss(layer, x, state.hidden, state.cell)
                })
            }
        }
        layer = original
        let worst = results.max { $0.worstError < $1.worstError }!
        print("ConvLSTM2D finite differences \(c): worst \(worst.name) \(worst.worstError)")
        for result in results where !result.passed { XCTFail("\(c): \(result)", line: line) }
    }

    func testForwardWithPeepholesAndLengths() throws { try check(Case(lengths: [3, 1])) }
    func testReversedWithPeepholesAndLengths() throws { try check(Case(reversed: true, lengths: [2, 3])) }
    func testPrePaddingLastValid() throws {
        try check(Case(peepholes: false, mask: [0, 1, 1, 0, 0, 1], maskedOutput: .lastValid))
    }
    func testReversedPrePaddingLastValid() throws {
        try check(Case(reversed: true, mask: [0, 1, 1, 1, 1, 0], maskedOutput: .lastValid))
    }
    func testStridedValidLastStepOnly() throws {
        try check(Case(peepholes: false, returnSequences: false, kernel: (3, 3), strides: (2, 2), padding: .valid,
                       frame: (5, 6)))
    }
}
