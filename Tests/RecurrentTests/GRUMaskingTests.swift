import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Masks, Keras's masked outputs and `goBackwards` on the GRU: what they must
/// equal whatever the numbers, in both reset placements.
final class GRUMaskingTests: XCTestCase {
    let tight = (atol: Float(1e-6), rtol: Float(1e-5))
    let (batch, steps, input, hidden) = (3, 5, 3, 4)

    func assertClose(_ a: [Float], _ b: [Float], _ name: String, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, name, line: line)
        let result = compare(name, actual: a, expected: b, atol: tight.atol, rtol: tight.rtol)
        XCTAssertTrue(result.passed, "\(result)", line: line)
    }

    /// Row t of sequence b of a (B, T, W) tensor.
    func row(_ x: Tensor, _ b: Int, _ t: Int) -> [Float] {
        let (steps, width) = (x.dimensions[1], x.dimensions[2])
        return Array(x.scalars[(b * steps + t) * width ..< (b * steps + t + 1) * width])
    }

    /// Sequence b's steps `range` alone, (1, n, W).
    func sequence(_ x: Tensor, _ b: Int, _ range: Range<Int>) throws -> Tensor {
        try Tensor(shape: [1, range.count, x.dimensions[2]], scalars: range.flatMap { row(x, b, $0) })
    }

    /// (B, T) masks with valid steps `spans[b]`.
    func mask(_ spans: [Range<Int>]) throws -> Tensor {
        try Tensor(shape: [spans.count, steps], scalars: spans.flatMap { span in (0 ..< steps).map { span.contains($0) ? 1 : 0 } })
    }

    /// The batch with each sequence's time axis reversed.
    func reversed(_ x: Tensor) throws -> Tensor {
        try Tensor(shape: x.shape, scalars: (0 ..< x.dimensions[0]).flatMap { b in
            (0 ..< x.dimensions[1]).reversed().flatMap { row(x, b, $0) }
        })
    }

    func testEachSequenceAloneEqualsTheMaskedBatchWithPaddingOnEitherSide() throws {
        let spans = [2 ..< 5, 0 ..< 3, 1 ..< 4]
        let x = try randomTensor([batch, steps, input], seed: 1)
        for resetAfter in [true, false] {
            var gru = try GRU(inputSize: input, hiddenSize: hidden, layerCount: 2, bidirectional: true,
                              resetAfter: resetAfter, seed: 4)
            for masked in [MaskedOutput.zero, .lastValid] {
                gru.maskedOutput = masked
                let result = try gru.forward(x, mask: try mask(spans))
                let label = "resetAfter \(resetAfter) \(masked)"
                for (b, span) in spans.enumerated() {
                    let alone = try gru.forward(try sequence(x, b, span))
                    for (k, t) in span.enumerated() {
                        assertClose(row(result.output, b, t), row(alone.output, 0, k), "\(label) h[\(b), \(t)]")
                    }
                    for index in 0 ..< 4 {
                        let state = (index * batch + b) * hidden ..< (index * batch + b + 1) * hidden
                        assertClose(Array(result.finalHidden.scalars[state]),
                                    Array(alone.finalHidden.scalars[index * hidden ..< (index + 1) * hidden]), "\(label) h_n \(b)")
                    }
                    // Padded steps: zero, or each direction's last valid output in its processing order.
                    for t in 0 ..< steps where !span.contains(t) {
                        let forward = masked == .lastValid && t >= span.upperBound
                            ? Array(row(result.output, b, span.upperBound - 1)[0 ..< hidden]) : [Float](repeating: 0, count: hidden)
                        let reverse = masked == .lastValid && t < span.lowerBound
                            ? Array(row(result.output, b, span.lowerBound)[hidden...]) : [Float](repeating: 0, count: hidden)
                        XCTAssertEqual(row(result.output, b, t), forward + reverse, "\(label) padded step (\(b), \(t))")
                    }
                }
            }
        }
    }

    func testGoBackwardsEqualsTheReversedInputOutputInProcessingOrder() throws {
        for resetAfter in [true, false] {
            var gru = try GRU(inputSize: input, hiddenSize: hidden, bidirectional: true, resetAfter: resetAfter, seed: 5)
            let x = try randomTensor([batch, steps, input], seed: 2)
            let plain = try gru.forward(try reversed(x))
            gru.goBackwards = true
            let backwards = try gru.forward(x)
            assertClose(backwards.output.scalars, plain.output.scalars, "output \(resetAfter)")
            assertClose(backwards.finalHidden.scalars, plain.finalHidden.scalars, "h_n \(resetAfter)")

            // With post-padding (lengths), Keras's reversed mask meets the padding first.
            let lengths = [5, 2, 0]
            let masked = try gru.forward(x, lengths: lengths)
            gru.goBackwards = false
            let prePadded = try gru.forward(try reversed(x), mask: try mask(lengths.map { steps - $0 ..< steps }))
            assertClose(masked.output.scalars, prePadded.output.scalars, "masked output \(resetAfter)")
            assertClose(masked.finalHidden.scalars, prePadded.finalHidden.scalars, "masked h_n \(resetAfter)")
        }
    }

    /// As a Layer and a RecurrentLayer, the context's mask is read as `forward(_:mask:)` reads it, training included.
    func testLayerContextMaskEqualsTheMaskArgument() throws {
        var gru = try GRU(inputSize: input, hiddenSize: hidden, resetAfter: false, seed: 6)
        gru.maskedOutput = .lastValid
        gru.goBackwards = true
        let x = try randomTensor([batch, steps, input], seed: 3)
        let m = try mask([1 ..< 5, 0 ..< 2, 2 ..< 3])
        let direct = try gru.trainingForward(x, mask: m)
        let context = LayerContext(mask: m)
        let (layerOutput, cache) = try gru.trainingForward(x, context: context)
        assertClose(layerOutput.scalars, direct.result.output.scalars, "Layer trainingForward")
        assertClose(try gru.forward(x, context: context).scalars, direct.result.output.scalars, "Layer forward")
        let recurrent = try gru.forward(x, from: nil, returnSequences: true, context: context)
        assertClose(recurrent.finalState.scalars, direct.result.finalHidden.scalars, "RecurrentLayer h_n")

        let g = try randomTensor(direct.result.output.dimensions, seed: 7)
        var viaLayer = gru.zeroGradients(), viaMask = gru.zeroGradients()
        let dx = try gru.backward(outputGradient: g, cache: cache, into: &viaLayer)
        let expected = try gru.backward(outputGradient: g, finalHiddenGradient: nil, cache: direct.cache, into: &viaMask)
        assertClose(dx.scalars, expected.input.scalars, "dx")
        for (a, b) in zip(viaLayer.tensors, viaMask.tensors) { assertClose(a.scalars, b.scalars, "parameter gradient") }
    }

    func testMaskErrors() throws {
        let gru = try GRU(inputSize: input, hiddenSize: hidden)
        let x = try randomTensor([2, steps, input], seed: 3)
        let gap = try Tensor(shape: [2, steps], scalars: [1, 1, 0, 1, 0, 1, 1, 1, 1, 1])
        XCTAssertThrowsError(try gru.forward(x, mask: gap)) { error in
            guard case .invalidArgument(let name, _, _) = error as? RecurrentError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "GRU mask row 0")
        }
        XCTAssertThrowsError(try gru.forward(x, mask: try Tensor(shape: [2, steps + 1]))) { error in
            XCTAssertEqual(error as? RecurrentError, .shapeMismatch(name: "GRU mask (batch, timesteps)",
                                                                    expected: ShapeRequirement(exactly: [2, steps]), actual: [2, steps + 1]))
        }
        let both = LayerContext(lengths: [1, 2], mask: try Tensor(shape: [2, steps], repeating: 1))
        XCTAssertThrowsError(try gru.forward(x, context: both)) { error in
            XCTAssertEqual(error as? RecurrentError, .invalidArgument(name: "GRU lengths and mask", expected: "one of the two",
                                                                      actual: "both"))
        }
    }
}
