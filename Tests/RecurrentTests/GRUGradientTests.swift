import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Finite differences of `L = sum(output * g) + sum(h_n * gh)` against backward,
/// for the input, h0 and every parameter of the GRU layer (the active kernel path),
/// through lengths, masks with padding before the data, both masked outputs and goBackwards.
final class GRUGradientTests: XCTestCase {
    struct Case {
        var layers = 1, bidirectional = false, lengths: [Int]? = nil, timeMajor = false
        var returnSequences = true, dropout: Float = 0, resetAfter = true, bias = true
        /// (B, T) rows of 0 and 1, given as `mask:` instead of lengths.
        var mask: [[Float]]? = nil
        var goBackwards = false, maskedOutput = MaskedOutput.zero
    }

    func check(_ c: Case, line: UInt = #line) throws {
        let (batch, steps, input, hidden) = (2, 3, 3, 2)
        var gru = try GRU(inputSize: input, hiddenSize: hidden, layerCount: c.layers, bidirectional: c.bidirectional,
                          bias: c.bias, resetAfter: c.resetAfter, dropout: c.dropout, seed: 11)
        gru.goBackwards = c.goBackwards
        gru.maskedOutput = c.maskedOutput
        let mask = try c.mask.map { try Tensor(shape: [batch, steps], scalars: $0.flatMap { $0 }) }
        let layout: SequenceLayout = c.timeMajor ? .timeMajor : .batchMajor
        let x = try randomTensor(c.timeMajor ? [steps, batch, input] : [batch, steps, input], seed: 1)
        let stateShape = [c.layers * gru.directionCount, batch, hidden]
        let h0 = try randomTensor(stateShape, seed: 2, scale: 0.5)
        func run(_ model: GRU, _ x: Tensor, _ h0: Tensor) throws -> (result: GRUResult, cache: GRUCache) {
            if let mask {
                return try model.trainingForward(x, initialHidden: h0, mask: mask, layout: layout,
                                                 returnSequences: c.returnSequences, dropoutSeed: 9)
            }
            return try model.trainingForward(x, initialHidden: h0, lengths: c.lengths, layout: layout,
                                             returnSequences: c.returnSequences, dropoutSeed: 9)
        }
        let (reference, cache) = try run(gru, x, h0)
        let g = try randomTensor(reference.output.dimensions, seed: 4)
        let gh = try randomTensor(stateShape, seed: 5)
        var gradients = gru.zeroGradients()
        let inputs = try gru.backward(outputGradient: g, finalHiddenGradient: gh, cache: cache, into: &gradients)

        func loss(_ model: GRU, _ x: Tensor, _ h0: Tensor) throws -> Double {
            // Same dropout seed: the same mask, so the loss is a smooth function of the inputs.
            let r = try run(model, x, h0).result
            return dot(r.output, g) + dot(r.finalHidden, gh)
        }
        var results = [
            try finiteDifferenceCheck("input", x, analytic: inputs.input) { try loss(gru, $0, h0) },
            try finiteDifferenceCheck("h0", h0, analytic: inputs.initialHidden) { try loss(gru, x, $0) },
        ]
        let original = gru.layers
        let paths: [(String, WritableKeyPath<GRUDirectionWeights, Tensor>)] =
            [("inputWeights", \.inputWeights), ("recurrentWeights", \.recurrentWeights)]
            + (c.bias ? [("inputBias", \.inputBias), ("recurrentBias", \.recurrentBias)] : [])
        for index in original.indices {
            for (label, path) in paths {
                results.append(try finiteDifferenceCheck("layer \(index) \(label)", original[index][keyPath: path],
                                                         analytic: gradients.layers[index][keyPath: path]) { value in
                    gru.layers = original
                    gru.layers[index][keyPath: path] = value
                    defer { gru.layers = original }
                    return try loss(gru, x, h0)
                })
            }
        }
        let worst = results.max { $0.worstError < $1.worstError }!
        print("GRU finite differences \(c): worst \(worst.name) \(worst.worstError)")
        for result in results where !result.passed { XCTFail("\(c): \(result)", line: line) }
    }

    func testSingleLayer() throws { try check(Case()) }
    func testResetBeforeProduct() throws { try check(Case(resetAfter: false)) }
    func testStackedBidirectional() throws { try check(Case(layers: 2, bidirectional: true)) }
    func testStackedBidirectionalResetBefore() throws { try check(Case(layers: 2, bidirectional: true, resetAfter: false)) }
    func testLengthsBothDirections() throws { try check(Case(layers: 2, bidirectional: true, lengths: [3, 1])) }
    func testLengthsResetBefore() throws { try check(Case(bidirectional: true, lengths: [2, 3], resetAfter: false)) }
    func testTimeMajorLastStepOnly() throws { try check(Case(bidirectional: true, timeMajor: true, returnSequences: false)) }
    func testDropoutBetweenLayers() throws { try check(Case(layers: 2, dropout: 0.4)) }
    func testWithoutBiases() throws { try check(Case(layers: 2, bias: false)) }

    // Masks with padding before the data, Keras's masked outputs, go_backwards.
    func testPrePaddingLastValidBothDirections() throws {
        try check(Case(layers: 2, bidirectional: true, mask: [[0, 1, 1], [1, 1, 0]], maskedOutput: .lastValid))
    }
    func testPrePaddingLastValidResetBefore() throws {
        try check(Case(bidirectional: true, resetAfter: false, mask: [[0, 1, 1], [0, 0, 1]], maskedOutput: .lastValid))
    }
    func testPrePaddingZeroOutputTimeMajor() throws {
        try check(Case(bidirectional: true, timeMajor: true, mask: [[0, 0, 1], [0, 1, 1]]))
    }
    func testGoBackwards() throws { try check(Case(layers: 2, goBackwards: true)) }
    func testGoBackwardsResetBefore() throws { try check(Case(bidirectional: true, resetAfter: false, goBackwards: true)) }
    func testGoBackwardsWithPostPaddingLastValid() throws {
        try check(Case(lengths: [3, 1], goBackwards: true, maskedOutput: .lastValid))
    }
    func testGoBackwardsMaskLastStep() throws {
        try check(Case(bidirectional: true, returnSequences: false, resetAfter: false, mask: [[0, 1, 1], [1, 1, 1]],
                       goBackwards: true, maskedOutput: .lastValid))
    }
}
