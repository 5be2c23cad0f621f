import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Masks, Keras's masked outputs, `goBackwards` and biases as options: what
/// they must equal whatever the numbers.
final class LSTMMaskingTests: XCTestCase {
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

    func testEachSequenceAloneEqualsTheMaskedBatchWithPaddingOnEitherSide() throws {
        var lstm = try LSTM(inputSize: input, hiddenSize: hidden, layerCount: 2, bidirectional: true, seed: 4)
        let spans = [2 ..< 5, 0 ..< 3, 1 ..< 4]
        let x = try randomTensor([batch, steps, input], seed: 1)
        for masked in [MaskedOutput.zero, .lastValid] {
            lstm.maskedOutput = masked
            let result = try lstm.forward(x, mask: try mask(spans))
            for (b, span) in spans.enumerated() {
                let alone = try lstm.forward(try sequence(x, b, span))
                for (k, t) in span.enumerated() { assertClose(row(result.output, b, t), row(alone.output, 0, k), "h[\(b), \(t)]") }
                for index in 0 ..< 4 {
                    let state = (index * batch + b) * hidden ..< (index * batch + b + 1) * hidden
                    assertClose(Array(result.finalState.hidden.scalars[state]),
                                Array(alone.finalState.hidden.scalars[index * hidden ..< (index + 1) * hidden]), "h_n \(b)")
                    assertClose(Array(result.finalState.cell.scalars[state]),
                                Array(alone.finalState.cell.scalars[index * hidden ..< (index + 1) * hidden]), "c_n \(b)")
                }
                // Padded steps: zero, or each direction's last valid output in its processing order.
                for t in 0 ..< steps where !span.contains(t) {
                    let forward = masked == .lastValid && t >= span.upperBound ? Array(row(result.output, b, span.upperBound - 1)[0 ..< hidden])
                        : [Float](repeating: 0, count: hidden)
                    let reverse = masked == .lastValid && t < span.lowerBound ? Array(row(result.output, b, span.lowerBound)[hidden...])
                        : [Float](repeating: 0, count: hidden)
                    XCTAssertEqual(row(result.output, b, t), forward + reverse, "\(masked) padded step (\(b), \(t))")
                }
            }
        }
    }

    func testGoBackwardsEqualsTheReversedInputOutputInProcessingOrder() throws {
        var lstm = try LSTM(inputSize: input, hiddenSize: hidden, bidirectional: true, seed: 5)
        let x = try randomTensor([batch, steps, input], seed: 2)
        let reversed = try Tensor(shape: x.shape, scalars: (0 ..< batch).flatMap { b in (0 ..< steps).reversed().flatMap { row(x, b, $0) } })
        let plain = try lstm.forward(reversed)
        lstm.goBackwards = true
        let backwards = try lstm.forward(x)
        assertClose(backwards.output.scalars, plain.output.scalars, "output")
        assertClose(backwards.finalState.hidden.scalars, plain.finalState.hidden.scalars, "h_n")

        // With post-padding (lengths), Keras's reversed mask meets the padding first.
        let lengths = [5, 2, 0]
        let masked = try lstm.forward(x, lengths: lengths)
        lstm.goBackwards = false
        let prePadded = try lstm.forward(reversed, mask: try mask(lengths.map { steps - $0 ..< steps }))
        assertClose(masked.output.scalars, prePadded.output.scalars, "masked output")
        assertClose(masked.finalState.cell.scalars, prePadded.finalState.cell.scalars, "masked c_n")
    }

    func testMaskErrors() throws {
        let lstm = try LSTM(inputSize: input, hiddenSize: hidden)
        let x = try randomTensor([2, steps, input], seed: 3)
        let gap = try Tensor(shape: [2, steps], scalars: [1, 1, 0, 1, 0, 1, 1, 1, 1, 1])
        XCTAssertThrowsError(try lstm.forward(x, mask: gap)) { error in
            guard case .invalidArgument(let name, _, _) = error as? RecurrentError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "LSTM mask row 0")
        }
        XCTAssertThrowsError(try lstm.forward(x, mask: try Tensor(shape: [2, steps + 1]))) { error in
            XCTAssertEqual(error as? RecurrentError, .shapeMismatch(name: "LSTM mask (batch, timesteps)",
                                                                    expected: ShapeRequirement(exactly: [2, steps]), actual: [2, steps + 1]))
        }
        let both = LayerContext(lengths: [1, 2], mask: try Tensor(shape: [2, steps], repeating: 1))
        XCTAssertThrowsError(try lstm.forward(x, context: both)) { error in
            XCTAssertEqual(error as? RecurrentError, .invalidArgument(name: "LSTM lengths and mask", expected: "one of the two",
                                                                      actual: "both"))
        }
    }

    func testNoBiasHasNoBiasParametersAndRoundTripsThroughAStateDict() throws {
        var lstm = try LSTM(inputSize: input, hiddenSize: hidden, layerCount: 2, bidirectional: true, bias: false, seed: 6)
        XCTAssertEqual(lstm.namedParameters.map(\.name), ["weight_ih_l0", "weight_hh_l0", "weight_ih_l0_reverse",
                                                          "weight_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1",
                                                          "weight_ih_l1_reverse", "weight_hh_l1_reverse"])
        XCTAssertEqual(lstm.zeroGradients().tensors.count, lstm.parameterCount)
        let dictionary = Dictionary(uniqueKeysWithValues: lstm.namedParameters.map { ($0.name, $0.tensor) })
        let imported = try LSTM(pytorchStateDict: dictionary)
        XCTAssertFalse(imported.hasBias)
        // A bias or a projection of a layer after the first, in a dict whose first layer has none,
        // is refused rather than ignored (as the GRU refuses a stray bias).
        for (name, shape) in [("bias_hh_l1", [4 * hidden]), ("weight_hr_l1_reverse", [2, hidden])] {
            var stray = dictionary
            stray[name] = try Tensor(shape: Shape(shape))
            XCTAssertThrowsError(try LSTM(pytorchStateDict: stray)) { error in
                guard case let .invalidArgument(refused, _, actual)? = error as? RecurrentError else { return XCTFail("\(error)") }
                XCTAssertEqual(refused, name)
                XCTAssertTrue(actual.contains("\(shape)"), actual)
            }
        }
        let x = try randomTensor([batch, steps, input], seed: 7)
        assertClose(try imported.forward(x).output.scalars, try lstm.forward(x).output.scalars, "imported")
        // An optimizer's round trip through withParameters puts every weight back.
        try lstm.withParameters { parameters in
            XCTAssertEqual(parameters.count, 8)
            for index in parameters.indices { parameters[index].fill(with: 0.1) }
        }
        XCTAssertEqual(lstm.layers[3].recurrentWeights.scalars.first, 0.1)
        let keras = try LSTM(inputSize: input, hiddenSize: hidden, bias: false).kerasSafeTensors()
        XCTAssertEqual(keras.names.sorted(), ["kernel", "recurrent_kernel"])
        XCTAssertFalse(try LSTM(keras: keras).hasBias)
    }

    func testProjectionsAsParametersAndTheirErrors() throws {
        XCTAssertThrowsError(try LSTM(inputSize: input, hiddenSize: hidden, projectionSize: hidden)) { error in
            guard case .invalidArgument(let name, _, _) = error as? RecurrentError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "projectionSize")
        }
        let lstm = try LSTM(inputSize: input, hiddenSize: hidden, projectionSize: 2, bidirectional: true, seed: 8)
        XCTAssertEqual(lstm.outputSize, 4)
        XCTAssertEqual(lstm.namedParameters.map(\.name), ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                                          "weight_hr_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse",
                                                          "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_hr_l0_reverse"])
        XCTAssertEqual(lstm.layers[0].recurrentWeights.dimensions, [4 * hidden, 2])
        XCTAssertEqual(lstm.zeroGradients().tensors.map(\.dimensions), lstm.namedParameters.map(\.tensor.dimensions))
        let imported = try LSTM(pytorchStateDict: Dictionary(uniqueKeysWithValues: lstm.namedParameters.map { ($0.name, $0.tensor) }))
        XCTAssertEqual(imported.projectionSize, 2)
        let x = try randomTensor([batch, steps, input], seed: 9)
        let result = try lstm.forward(x)
        XCTAssertEqual(result.output.dimensions, [batch, steps, 4])
        XCTAssertEqual(result.finalState.hidden.dimensions, [2, batch, 2])
        XCTAssertEqual(result.finalState.cell.dimensions, [2, batch, hidden])
        assertClose(try imported.forward(x).output.scalars, result.output.scalars, "imported")
        XCTAssertThrowsError(try lstm.kerasWeights())
        // A state of the cell's width where h's belongs.
        let wide = LSTMState(hidden: try Tensor(shape: [2, batch, hidden]), cell: try Tensor(shape: [2, batch, hidden]))
        XCTAssertThrowsError(try lstm.forward(x, initialState: wide)) { error in
            XCTAssertEqual(error as? RecurrentError, .shapeMismatch(name: "Initial hidden state",
                                                                    expected: ShapeRequirement(exactly: [2, batch, 2]),
                                                                    actual: [2, batch, hidden]))
        }
        var missing = lstm
        missing.layers[1].projectionWeights = nil
        XCTAssertThrowsError(try missing.forward(x))
    }
}
