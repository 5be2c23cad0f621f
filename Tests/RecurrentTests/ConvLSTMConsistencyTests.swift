import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// ConvLSTM2D against its scalar twin, the package's LSTM, its stream and
/// itself on time-reversed input.
final class ConvLSTMConsistencyTests: XCTestCase {
    private struct TwinCase {
        var frame = (5, 4), channels = 2, filters = 3, kernel = (3, 2), strides = (1, 1), dilation = (1, 1)
        var padding = ConvolutionPadding.same, reversed = false, peepholes = true, lengths: [Int]? = [3, 1]
    }

    /// Odd sizes, every option: strides, dilation, even kernels, padded and empty
    /// sequences, reversal, peepholes, several Winograd blocks per row and several chunks.
    private let twinCases = [
        TwinCase(),
        TwinCase(reversed: true, lengths: [2, 3]),
        TwinCase(frame: (8, 7), channels: 1, filters: 2, kernel: (3, 3), strides: (2, 2), padding: .valid, peepholes: false),
        TwinCase(frame: (7, 7), kernel: (3, 3), dilation: (2, 2), lengths: nil),
        TwinCase(frame: (2, 3), kernel: (4, 4), lengths: [0, 3]),                  // even kernel: the extra pad goes after
        TwinCase(frame: (40, 41), channels: 1, filters: 4, kernel: (3, 3), peepholes: false, lengths: nil),   // several chunks
        // Winograd blocks inside rows of tiles: several per row (31 tiles wide), odd sizes, padded steps.
        TwinCase(frame: (9, 61), kernel: (3, 3), lengths: [3, 1]),
        TwinCase(frame: (5, 3), kernel: (3, 3), reversed: true, lengths: [2, 0]),
    ]

    /// The layer, input and initial state of case `index`, and the reference's view of them.
    private func twin(_ index: Int) throws -> (layer: ConvLSTM2D, x: Tensor, state: ConvLSTMState, reference: ConvLSTMReferenceLayer) {
        let c = twinCases[index]
        let input = [2, 3, c.frame.0, c.frame.1, c.channels]
        let probe = try smallConvLSTM(channels: c.channels, filters: c.filters, kernel: c.kernel, strides: c.strides,
                                      dilation: c.dilation, padding: c.padding, seed: 1)
        let grid = try probe.stateDimensions(forFrame: (c.frame.0, c.frame.1))
        var layer = try smallConvLSTM(channels: c.channels, filters: c.filters, kernel: c.kernel, strides: c.strides,
                                      dilation: c.dilation, padding: c.padding, reversed: c.reversed,
                                      peepholeGrid: c.peepholes ? (grid.height, grid.width) : nil, seed: 10 + UInt64(index))
        if var peepholes = layer.peepholes {   // zero-initialized: give them values, or their gradients' use goes unchecked
            peepholes.input = try randomTensor(peepholes.input.dimensions, seed: 50 + UInt64(index), scale: 0.5)
            peepholes.forget = try randomTensor(peepholes.forget.dimensions, seed: 60 + UInt64(index), scale: 0.5)
            peepholes.output = try randomTensor(peepholes.output.dimensions, seed: 70 + UInt64(index), scale: 0.5)
            layer.peepholes = peepholes
        }
        let x = try randomTensor(input, seed: 20 + UInt64(index))
        let state = try randomState(layer, input: input, seed: 30)
        let reference = ConvLSTMReferenceLayer(
            batch: 2, timesteps: 3, height: c.frame.0, width: c.frame.1, channels: c.channels,
            kernel: layer.kernel.scalars, recurrentKernel: layer.recurrentKernel.scalars, bias: layer.bias.scalars,
            filters: c.filters, kernelSize: c.kernel, strides: c.strides, dilation: c.dilation, padding: c.padding,
            reversed: c.reversed, peepholes: layer.peepholes.map { ($0.input.scalars, $0.forget.scalars, $0.output.scalars) },
            lengths: c.lengths)
        return (layer, x, state, reference)
    }

    /// The fast forward pass (fused products, chunks, both cores) equals the
    /// Double reference loops, and the training pass equals inference bit for bit.
    func testForwardEqualsTheScalarTwin() throws {
        for index in twinCases.indices {
            let (layer, x, state, twin) = try twin(index)
            let lengths = twinCases[index].lengths
            let fast = try layer.forward(x, initialState: state, lengths: lengths)
            let reference = convLSTMReferenceForward(twin, input: x.scalars, initialHidden: state.hidden.scalars,
                                                     initialCell: state.cell.scalars)
            requireClose(compare("case \(index) output", actual: fast.output.scalars, expected: reference.output, atol: 2e-6, rtol: 2e-5))
            requireClose(compare("case \(index) h_n", actual: fast.finalState.hidden.scalars, expected: reference.finalHidden,
                                 atol: 2e-6, rtol: 2e-5))
            requireClose(compare("case \(index) c_n", actual: fast.finalState.cell.scalars, expected: reference.finalCell,
                                 atol: 2e-6, rtol: 2e-5))
            let training = try layer.trainingForward(x, initialState: state, lengths: lengths).result
            XCTAssertEqual(training.output, fast.output, "case \(index)")
            XCTAssertEqual(training.finalState, fast.finalState, "case \(index)")
        }
    }

    /// Backward through time (every gradient: input, both kernels, bias,
    /// peepholes, initial state) equals the Double reference loops on the same
    /// cases, with gradients arriving at the output and at the final state.
    func testBackwardEqualsTheScalarTwin() throws {
        for index in twinCases.indices {
            let (layer, x, state, twin) = try twin(index)
            let lengths = twinCases[index].lengths
            let (result, cache) = try layer.trainingForward(x, initialState: state, lengths: lengths)
            let g = try randomTensor(result.output.dimensions, seed: 80 + UInt64(index))
            let (gh, gc) = (try randomTensor(state.hidden.dimensions, seed: 90), try randomTensor(state.cell.dimensions, seed: 91))
            var gradients = layer.zeroGradients()
            let inputs = try layer.backward(outputGradient: g, finalStateGradient: ConvLSTMState(hidden: gh, cell: gc),
                                            cache: cache, into: &gradients)
            let reference = convLSTMReferenceBackward(
                twin, input: x.scalars, initialHidden: state.hidden.scalars, initialCell: state.cell.scalars,
                outputGradient: g.scalars, finalHiddenGradient: gh.scalars, finalCellGradient: gc.scalars)
            func check(_ name: String, _ actual: Tensor?, _ expected: [Float]?) {
                guard let actual, let expected else { return XCTAssertTrue(actual == nil && expected == nil, "case \(index) \(name)") }
                requireClose(compare("case \(index) \(name)", actual: actual.scalars, expected: expected, atol: 2e-5, rtol: 2e-4))
            }
            check("dInput", inputs.input, reference.input)
            check("dKernel", gradients.kernel, reference.kernel)
            check("dRecurrentKernel", gradients.recurrentKernel, reference.recurrentKernel)
            check("dBias", gradients.bias, reference.bias)
            check("dPeephole input", gradients.peepholes?.input, reference.peepholes?.input)
            check("dPeephole forget", gradients.peepholes?.forget, reference.peepholes?.forget)
            check("dPeephole output", gradients.peepholes?.output, reference.peepholes?.output)
            check("dh_0", inputs.initialState.hidden, reference.initialHidden)
            check("dc_0", inputs.initialState.cell, reference.initialCell)
        }
    }

    /// A 1 x 1 kernel on 1 x 1 frames is an LSTM: forward, final states and every gradient.
    func testOneByOneEqualsLSTM() throws {
        let (batch, steps, channels, filters) = (3, 4, 3, 2)
        let layer = try smallConvLSTM(channels: channels, filters: filters, kernel: (1, 1), seed: 40)
        let lstm = try LSTM(kerasKernel: layer.kernel.reshaped(to: [channels, 4 * filters]),
                            recurrentKernel: layer.recurrentKernel.reshaped(to: [filters, 4 * filters]), bias: layer.bias)
        let frames = try randomTensor([batch, steps, 1, 1, channels], seed: 41)
        let state = try randomState(layer, input: frames.dimensions, seed: 42)
        let lengths = [4, 2, 0]
        let g = try randomTensor([batch, steps, 1, 1, filters], seed: 44)
        let (gh, gc) = (try randomTensor(state.hidden.dimensions, seed: 45), try randomTensor(state.cell.dimensions, seed: 46))

        let (convResult, cache) = try layer.trainingForward(frames, initialState: state, lengths: lengths)
        var convGradients = layer.zeroGradients()
        let convInputs = try layer.backward(outputGradient: g, finalStateGradient: ConvLSTMState(hidden: gh, cell: gc),
                                            cache: cache, into: &convGradients)

        let lstmState = LSTMState(hidden: try state.hidden.reshaped(to: [1, batch, filters]),
                                  cell: try state.cell.reshaped(to: [1, batch, filters]))
        let (lstmResult, lstmCache) = try lstm.trainingForward(frames.reshaped(to: [batch, steps, channels]),
                                                               initialState: lstmState, lengths: lengths)
        var lstmGradients = lstm.zeroGradients()
        let lstmInputs = try lstm.backward(
            outputGradient: g.reshaped(to: [batch, steps, filters]),
            finalStateGradient: LSTMState(hidden: gh.reshaped(to: [1, batch, filters]), cell: gc.reshaped(to: [1, batch, filters])),
            cache: lstmCache, into: &lstmGradients)
        let keras = try LSTM(inputSize: channels, hiddenSize: filters, weights: lstmGradients.layers).kerasWeights()

        let pairs: [(String, Tensor, Tensor)] = [
            ("output", convResult.output, lstmResult.output), ("h_n", convResult.finalState.hidden, lstmResult.finalState.hidden),
            ("c_n", convResult.finalState.cell, lstmResult.finalState.cell), ("dInput", convInputs.input, lstmInputs.input),
            ("dh0", convInputs.initialState.hidden, lstmInputs.initialState.hidden),
            ("dc0", convInputs.initialState.cell, lstmInputs.initialState.cell),
            ("dKernel", convGradients.kernel, keras.kernel), ("dRecurrentKernel", convGradients.recurrentKernel, keras.recurrentKernel),
            ("dBias", convGradients.bias, lstmGradients.layers[0].inputBias),
        ]
        for (name, a, b) in pairs {
            XCTAssertEqual(a.count, b.count, name)
            requireClose(compare(name, actual: a.scalars, expected: b.scalars, atol: 1e-6, rtol: 1e-5))
        }
    }

    /// One step at a time through the stream equals one call over the sequence; reset starts over.
    func testStreamEqualsTheFullRun() throws {
        let layer = try smallConvLSTM(channels: 2, filters: 3, kernel: (3, 3), peepholeGrid: (5, 4), seed: 50)
        let x = try randomTensor([2, 4, 5, 4, 2], seed: 51)
        let state = try randomState(layer, input: x.dimensions, seed: 52)
        let full = try layer.forward(x, initialState: state)
        var stream = try ConvLSTMStream(layer, batch: 2, frameSize: (5, 4), initialState: state)
        var pieces: [Tensor] = [try stream.advance(prefix2(x))]
        for t in 2 ..< 4 { pieces.append(try stream.step(try frame(x, t))) }
        XCTAssertEqual(stream.state, full.finalState)
        let perStep = full.output.scalars
        let stepLength = 5 * 4 * 3
        for b in 0 ..< 2 {
            for t in 0 ..< 4 {
                let expected = Array(perStep[(b * 4 + t) * stepLength ..< (b * 4 + t + 1) * stepLength])
                let piece = t < 2 ? pieces[0] : pieces[t - 1]
                let start = t < 2 ? (b * 2 + t) * stepLength : b * stepLength
                XCTAssertEqual(Array(piece.scalars[start ..< start + stepLength]), expected, "b \(b) t \(t)")
            }
        }
        stream.reset()
        XCTAssertEqual(stream.state, ConvLSTMState(hidden: state.hidden, cell: state.cell))
        XCTAssertEqual(try stream.advance(x), full.output)
    }

    /// Keras's go_backwards: a reversed layer equals the forward layer on the
    /// time-reversed input (output in processing order), gradients included;
    /// with lengths, each sequence as if run alone on its valid prefix, the
    /// padding's zero outputs first.
    func testReverseEqualsRunningOnTheReversedInput() throws {
        let forward = try smallConvLSTM(kernel: (3, 3), peepholeGrid: (4, 3), seed: 60)
        let reversed = try ConvLSTM2D(kernel: forward.kernel, recurrentKernel: forward.recurrentKernel, bias: forward.bias,
                                      padding: .same, reversed: true, peepholes: forward.peepholes)
        let x = try randomTensor([2, 3, 4, 3, 2], seed: 61)
        let g = try randomTensor([2, 3, 4, 3, 2], seed: 62)
        let (a, cacheA) = try reversed.trainingForward(x)
        let (b, cacheB) = try forward.trainingForward(timeReversed(x))
        XCTAssertEqual(a.output, b.output)
        XCTAssertEqual(a.finalState, b.finalState)
        var (ga, gb) = (reversed.zeroGradients(), forward.zeroGradients())
        let da = try reversed.backward(outputGradient: g, finalStateGradient: nil, cache: cacheA, into: &ga)
        let db = try forward.backward(outputGradient: g, finalStateGradient: nil, cache: cacheB, into: &gb)
        XCTAssertEqual(da.input, try timeReversed(db.input))
        XCTAssertEqual(da.initialState, db.initialState)
        // The weight gradients sum the frames in another order: round-off only.
        for (name, p, q) in [("kernel", ga.kernel, gb.kernel), ("recurrentKernel", ga.recurrentKernel, gb.recurrentKernel),
                             ("bias", ga.bias, gb.bias), ("peephole i", ga.peepholes!.input, gb.peepholes!.input),
                             ("peephole f", ga.peepholes!.forget, gb.peepholes!.forget),
                             ("peephole o", ga.peepholes!.output, gb.peepholes!.output)] {
            requireClose(compare(name, actual: p.scalars, expected: q.scalars, atol: 1e-6, rtol: 1e-5))
        }

        let lengths = [2, 3]
        let padded = try reversed.forward(x, lengths: lengths)
        let step = 4 * 3 * 2
        for (s, length) in lengths.enumerated() {
            let alone = try reversed.forward(try prefix(x, sequence: s, steps: length))
            let row = Array(padded.output.scalars[s * 3 * step ..< (s + 1) * 3 * step])
            XCTAssertEqual(Array(row[0 ..< (3 - length) * step]), [Float](repeating: 0, count: (3 - length) * step))
            XCTAssertEqual(Array(row[(3 - length) * step ..< 3 * step]), alone.output.scalars)
            XCTAssertEqual(Array(padded.finalState.cell.scalars[s * step ..< (s + 1) * step]), alone.finalState.cell.scalars)
        }
    }

    private func frame(_ x: Tensor, _ t: Int) throws -> Tensor {
        let (batch, steps) = (x.dimensions[0], x.dimensions[1])
        let per = x.count / (batch * steps)
        var values: [Float] = []
        for b in 0 ..< batch { values += x.scalars[(b * steps + t) * per ..< (b * steps + t + 1) * per] }
        return try Tensor(shape: Shape([batch] + x.dimensions.dropFirst(2)), scalars: values)
    }

    private func prefix2(_ x: Tensor) throws -> Tensor {
        let (batch, steps) = (x.dimensions[0], x.dimensions[1])
        let per = x.count / (batch * steps)
        var values: [Float] = []
        for b in 0 ..< batch { values += x.scalars[b * steps * per ..< (b * steps + 2) * per] }
        return try Tensor(shape: Shape([batch, 2] + x.dimensions.dropFirst(2)), scalars: values)
    }
}
