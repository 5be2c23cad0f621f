import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Finite differences of `L = sum(output * g) + sum(h_n * gh) + sum(c_n * gc)`
/// against backward, for every input, state and parameter.
final class LSTMGradientTests: XCTestCase {
    struct Case {
        var layers = 1, bidirectional = false, lengths: [Int]? = nil, timeMajor = false
        var returnSequences = true, dropout: Float = 0
        /// (B, T) rows of 0 and 1, given as `mask:` instead of lengths.
        var mask: [[Float]]? = nil
        var goBackwards = false, maskedOutput = MaskedOutput.zero, bias = true, projection = 0
        /// Keras's recurrent dropout (masks drawn from the same seed on every call).
        var recurrentDropout: Float = 0
    }

    func check(_ c: Case, line: UInt = #line) throws {
        let (batch, steps, input, hidden) = (2, 3, 3, 2)
        var lstm = try LSTM(inputSize: input, hiddenSize: hidden, projectionSize: c.projection, layerCount: c.layers,
                            bidirectional: c.bidirectional, bias: c.bias, dropout: c.dropout, seed: 11)
        lstm.goBackwards = c.goBackwards
        lstm.maskedOutput = c.maskedOutput
        lstm.recurrentDropout = c.recurrentDropout
        let mask = try c.mask.map { try Tensor(shape: [batch, steps], scalars: $0.flatMap { $0 }) }
        let layout: SequenceLayout = c.timeMajor ? .timeMajor : .batchMajor
        let x = try randomTensor(c.timeMajor ? [steps, batch, input] : [batch, steps, input], seed: 1)
        let stateShape = [c.layers * lstm.directionCount, batch, hidden]
        let hiddenShape = [c.layers * lstm.directionCount, batch, lstm.hiddenStateSize]
        let h0 = try randomTensor(hiddenShape, seed: 2, scale: 0.5)
        let c0 = try randomTensor(stateShape, seed: 3, scale: 0.5)
        func run(_ model: LSTM, _ x: Tensor, _ h0: Tensor, _ c0: Tensor) throws -> (result: LSTMResult, cache: LSTMCache) {
            let state = LSTMState(hidden: h0, cell: c0)
            if let mask {
                return try model.trainingForward(x, initialState: state, mask: mask, layout: layout,
                                                 returnSequences: c.returnSequences, dropoutSeed: 9)
            }
            return try model.trainingForward(x, initialState: state, lengths: c.lengths, layout: layout,
                                             returnSequences: c.returnSequences, dropoutSeed: 9)
        }
        let (reference, cache) = try run(lstm, x, h0, c0)
        let g = try randomTensor(reference.output.dimensions, seed: 4)
        let gh = try randomTensor(hiddenShape, seed: 5)
        let gc = try randomTensor(stateShape, seed: 6)
        var gradients = lstm.zeroGradients()
        let inputs = try lstm.backward(outputGradient: g, finalStateGradient: LSTMState(hidden: gh, cell: gc),
                                       cache: cache, into: &gradients)

        func loss(_ model: LSTM, _ x: Tensor, _ h0: Tensor, _ c0: Tensor) throws -> Double {
            // Same dropout seed: the same mask, so the loss is a smooth function of the inputs.
            let r = try run(model, x, h0, c0).result
            return dot(r.output, g) + dot(r.finalState.hidden, gh) + dot(r.finalState.cell, gc)
        }
        var results = [
            try finiteDifferenceCheck("input", x, analytic: inputs.input) { try loss(lstm, $0, h0, c0) },
            try finiteDifferenceCheck("h0", h0, analytic: inputs.initialState.hidden) { try loss(lstm, x, $0, c0) },
            try finiteDifferenceCheck("c0", c0, analytic: inputs.initialState.cell) { try loss(lstm, x, h0, $0) },
        ]
        let original = lstm.layers
        for index in original.indices {
            let biases: [(String, WritableKeyPath<LSTMDirectionWeights, Tensor>)] =
                c.bias ? [("inputBias", \.inputBias), ("recurrentBias", \.recurrentBias)] : []
            let projection: [(String, WritableKeyPath<LSTMDirectionWeights, Tensor>)] =
                c.projection > 0 ? [("projectionWeights", \.projectionWeights!)] : []
            for (label, path) in [("inputWeights", \LSTMDirectionWeights.inputWeights), ("recurrentWeights", \.recurrentWeights)]
                + biases + projection {
                results.append(try finiteDifferenceCheck("layer \(index) \(label)", original[index][keyPath: path],
                                                         analytic: gradients.layers[index][keyPath: path]) { value in
                    lstm.layers = original
                    lstm.layers[index][keyPath: path] = value
                    defer { lstm.layers = original }
                    return try loss(lstm, x, h0, c0)
                })
            }
        }
        let worst = results.max { $0.worstError < $1.worstError }!
        print("finite differences \(c): worst \(worst.name) \(worst.worstError)")
        for result in results where !result.passed { XCTFail("\(c): \(result)", line: line) }
    }

    func testSingleLayer() throws { try check(Case()) }
    func testStackedBidirectional() throws { try check(Case(layers: 2, bidirectional: true)) }
    func testLengthsBothDirections() throws { try check(Case(layers: 2, bidirectional: true, lengths: [3, 1])) }
    func testTimeMajorLastStepOnly() throws { try check(Case(bidirectional: true, timeMajor: true, returnSequences: false)) }
    func testDropoutBetweenLayers() throws { try check(Case(layers: 2, dropout: 0.4)) }

    // Masks with padding before the data, Keras's masked outputs, go_backwards, no biases.
    func testPrePaddingLastValidBothDirections() throws {
        try check(Case(layers: 2, bidirectional: true, mask: [[0, 1, 1], [1, 1, 0]], maskedOutput: .lastValid))
    }
    func testPrePaddingZeroOutputTimeMajor() throws {
        try check(Case(bidirectional: true, timeMajor: true, mask: [[0, 0, 1], [0, 1, 1]]))
    }
    func testGoBackwards() throws { try check(Case(layers: 2, goBackwards: true)) }
    func testGoBackwardsWithPostPaddingLastValid() throws {
        try check(Case(lengths: [3, 1], goBackwards: true, maskedOutput: .lastValid))
    }
    func testGoBackwardsMaskLastStep() throws {
        try check(Case(bidirectional: true, returnSequences: false, mask: [[0, 1, 1], [1, 1, 1]], goBackwards: true,
                       maskedOutput: .lastValid))
    }
    func testNoBias() throws { try check(Case(layers: 2, bidirectional: true, lengths: [2, 3], bias: false)) }

    // Projections (PyTorch's proj_size): h has 1 unit, c has 2.
    func testProjectionStackedBidirectionalWithLengths() throws {
        try check(Case(layers: 2, bidirectional: true, lengths: [3, 1], projection: 1))
    }
    func testProjectionTimeMajorLastStepWithDropout() throws {
        try check(Case(layers: 2, timeMajor: true, returnSequences: false, dropout: 0.4, projection: 1))
    }
    func testProjectionPrePaddingLastValidGoBackwards() throws {
        try check(Case(bidirectional: true, mask: [[0, 1, 1], [1, 1, 1]], goBackwards: true, maskedOutput: .lastValid,
                       bias: false, projection: 1))
    }

    // Recurrent dropout (Keras's per-gate masks on h_{t-1}), on the plain route.
    func testRecurrentDropout() throws { try check(Case(recurrentDropout: 0.4)) }
    func testRecurrentDropoutStackedBidirectionalWithLengthsAndDropout() throws {
        try check(Case(layers: 2, bidirectional: true, lengths: [3, 1], dropout: 0.3, recurrentDropout: 0.4))
    }
    func testRecurrentDropoutPrePaddingGoBackwardsLastStepNoBias() throws {
        try check(Case(bidirectional: true, timeMajor: true, returnSequences: false, mask: [[0, 1, 1], [1, 1, 1]],
                       goBackwards: true, maskedOutput: .lastValid, bias: false, recurrentDropout: 0.5))
    }
    func testRecurrentDropoutWithProjections() throws {
        try check(Case(layers: 2, bidirectional: true, lengths: [2, 3], projection: 1, recurrentDropout: 0.4))
    }
}
