import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Equalities that must hold whatever the numbers: chunking, streaming, layouts,
/// batching, and import/export.
final class LSTMConsistencyTests: XCTestCase {
    let tight = (atol: Float(1e-6), rtol: Float(1e-5))

    func assertClose(_ a: Tensor, _ b: Tensor, _ name: String, line: UInt = #line) {
        XCTAssertEqual(a.dimensions, b.dimensions, name, line: line)
        let result = compare(name, actual: a.scalars, expected: b.scalars, atol: tight.atol, rtol: tight.rtol)
        XCTAssertTrue(result.passed, "\(result)", line: line)
    }

    func testOneStepCallsEqualOneFullCallForwardAndBackward() throws {
        let lstm = try LSTM(inputSize: 5, hiddenSize: 4, layerCount: 2, seed: 3)
        let (batch, steps) = (3, 6)
        let x = try randomTensor([batch, steps, 5], seed: 1)
        let g = try randomTensor([batch, steps, 4], seed: 2)
        let (full, fullCache) = try lstm.trainingForward(x)
        var fullGradients = lstm.zeroGradients()
        let fullInput = try lstm.backward(outputGradient: g, finalStateGradient: nil, cache: fullCache, into: &fullGradients)

        // Forward one step at a time, carrying the state.
        var state = try LSTMState.zeros(for: lstm, batch: batch)
        var caches: [LSTMCache] = []
        var outputs: [[Float]] = []
        let xs = x.scalars, gs = g.scalars
        func step(_ values: [Float], _ t: Int, width: Int) throws -> Tensor {
            var rows: [Float] = []
            for b in 0 ..< batch {
                let start = (b * steps + t) * width
                rows += values[start ..< start + width]
            }
            return try Tensor(shape: [batch, 1, width], scalars: rows)
        }
        for t in 0 ..< steps {
            let (r, cache) = try lstm.trainingForward(try step(xs, t, width: 5), initialState: state)
            state = r.finalState
            caches.append(cache)
            outputs.append(r.output.scalars)
        }
        for b in 0 ..< batch {
            for t in 0 ..< steps {
                let expected = Array(full.output.scalars[(b * steps + t) * 4 ..< (b * steps + t + 1) * 4])
                XCTAssertTrue(compare("h[\(b),\(t)]", actual: Array(outputs[t][b * 4 ..< b * 4 + 4]), expected: expected,
                                      atol: tight.atol, rtol: tight.rtol).passed)
            }
        }
        assertClose(state.hidden, full.finalState.hidden, "h_n")

        // Backward chunk by chunk, in reverse, passing the state gradient along.
        var gradients = lstm.zeroGradients()
        var carried: LSTMState? = nil
        var inputGradient = [Float](repeating: 0, count: x.count)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            let r = try lstm.backward(outputGradient: try step(gs, t, width: 4), finalStateGradient: carried,
                                      cache: caches[t], into: &gradients)
            carried = r.initialState
            for b in 0 ..< batch {
                for j in 0 ..< 5 { inputGradient[(b * steps + t) * 5 + j] = r.input.scalars[b * 5 + j] }
            }
        }
        assertClose(try Tensor(shape: [batch, steps, 5], scalars: inputGradient), fullInput.input, "grad input")
        assertClose(carried!.hidden, fullInput.initialState.hidden, "grad h0")
        for (a, b) in zip(gradients.layers, fullGradients.layers) {
            assertClose(a.inputWeights, b.inputWeights, "grad W_ih")
            assertClose(a.recurrentWeights, b.recurrentWeights, "grad W_hh")
            assertClose(a.inputBias, b.inputBias, "grad b_ih")
        }
    }

    func testStreamEqualsTheFullRunAndResets() throws {
        let lstm = try LSTM(inputSize: 3, hiddenSize: 5, layerCount: 2, initialization: .keras, seed: 8)
        let x = try randomTensor([2, 7, 3], seed: 4)
        let full = try lstm.forward(x)
        var stream = try LSTMStream(lstm, batch: 2)
        var last = try Tensor(shape: [2, 5])
        for t in 0 ..< 7 {
            let frame = try Tensor(shape: [2, 3], scalars: (0 ..< 2).flatMap { b in x.scalars[(b * 7 + t) * 3 ..< (b * 7 + t + 1) * 3] })
            last = try stream.step(frame)
        }
        let expectedLast = try Tensor(shape: [2, 5], scalars: (0 ..< 2).flatMap { b in full.output.scalars[(b * 7 + 6) * 5 ..< (b * 7 + 7) * 5] })
        assertClose(last, expectedLast, "last step")
        assertClose(stream.state.cell, full.finalState.cell, "c_n")
        stream.reset()
        assertClose(try stream.advance(x), full.output, "after reset")
        XCTAssertThrowsError(try LSTMStream(try LSTM(inputSize: 3, hiddenSize: 2, bidirectional: true), batch: 1))
    }

    func testTimeMajorEqualsBatchMajorAndPerSampleEqualsBatched() throws {
        let lstm = try LSTM(inputSize: 4, hiddenSize: 3, layerCount: 2, bidirectional: true, seed: 5)
        let (batch, steps) = (3, 5)
        let x = try randomTensor([batch, steps, 4], seed: 6)
        let lengths = [5, 2, 4]
        let batched = try lstm.forward(x, lengths: lengths)
        var timeMajor = [Float](repeating: 0, count: x.count)
        for b in 0 ..< batch { for t in 0 ..< steps { for j in 0 ..< 4 {
            timeMajor[(t * batch + b) * 4 + j] = x.scalars[(b * steps + t) * 4 + j]
        } } }
        let tm = try lstm.forward(try Tensor(shape: [steps, batch, 4], scalars: timeMajor), lengths: lengths, layout: .timeMajor)
        assertClose(tm.finalState.hidden, batched.finalState.hidden, "time-major h_n")
        for b in 0 ..< batch {
            // A sequence alone, cut to its length, gives the same output and state.
            let alone = try lstm.forward(try x.slice(b ..< b + 1).reshaped(to: [1, steps, 4]).prefixSteps(lengths[b]))
            let expected = try batched.output.slice(b ..< b + 1).prefixSteps(lengths[b])
            assertClose(alone.output, expected, "sample \(b)")
            XCTAssertEqual(try batched.output.slice(b ..< b + 1).scalars.suffix((steps - lengths[b]) * 6), ArraySlice(repeating: 0, count: (steps - lengths[b]) * 6))
        }
    }

    func testPyTorchAndKerasExportImportGiveTheSameNumbers() throws {
        let lstm = try LSTM(inputSize: 6, hiddenSize: 4, layerCount: 2, bidirectional: true, seed: 2)
        let x = try randomTensor([2, 3, 6], seed: 3)
        let directory = try TestData.temporaryDirectory("lstm-interop")
        try lstm.pytorchSafeTensors().write(to: directory + "/lstm.safetensors")
        let file = try SafeTensors.read(contentsOf: directory + "/lstm.safetensors")
        var dict: [String: Tensor] = [:]
        for name in file.names { dict[name] = try file[name]!.tensor() }
        let reloaded = try LSTM(pytorchStateDict: dict)
        XCTAssertEqual(reloaded.layers, lstm.layers)
        XCTAssertEqual(try reloaded.forward(x).output, try lstm.forward(x).output)

        let single = try LSTM(inputSize: 6, hiddenSize: 4, seed: 9)
        let keras = try single.kerasWeights()
        XCTAssertEqual(keras.kernel.dimensions, [6, 16])
        let back = try LSTM(kerasKernel: keras.kernel, recurrentKernel: keras.recurrentKernel, bias: keras.bias)
        assertClose(try back.forward(x).output, try single.forward(x).output, "Keras round trip")
        try single.kerasSafeTensors(prefix: "lstm.").write(to: directory + "/keras.safetensors")
        let fromFile = try LSTM(keras: SafeTensors.read(contentsOf: directory + "/keras.safetensors"), prefix: "lstm.")
        assertClose(try fromFile.forward(x).output, try single.forward(x).output, "Keras file round trip")
        XCTAssertThrowsError(try LSTM(keras: SafeTensors.read(contentsOf: directory + "/keras.safetensors")))
        XCTAssertThrowsError(try lstm.kerasWeights())
        XCTAssertThrowsError(try LSTM(pytorchStateDict: ["weight_ih_l0": try Tensor(shape: [8, 3])]))
    }

    func testInitializersAreSeededAndHaveTheirFrameworksProperties() throws {
        let torch = try LSTM(inputSize: 10, hiddenSize: 16, seed: 1)
        let bound = 1 / Float(16).squareRoot()
        XCTAssertTrue(torch.namedParameters.allSatisfy { $0.tensor.scalars.allSatisfy { abs($0) <= bound } })
        XCTAssertEqual(try LSTM(inputSize: 10, hiddenSize: 16, seed: 1).layers, torch.layers)
        XCTAssertNotEqual(try LSTM(inputSize: 10, hiddenSize: 16, seed: 2).layers, torch.layers)

        let keras = try LSTM(inputSize: 10, hiddenSize: 16, initialization: .keras, seed: 1)
        let w = keras.layers[0].recurrentWeights.scalars   // (64, 16): orthonormal columns
        for i in 0 ..< 16 { for j in 0 ..< 16 {
            let d = (0 ..< 64).reduce(Float(0)) { $0 + w[$1 * 16 + i] * w[$1 * 16 + j] }
            XCTAssertEqual(d, i == j ? 1 : 0, accuracy: 1e-5)
        } }
        let bias = keras.layers[0].inputBias.scalars
        XCTAssertEqual(Array(bias[16 ..< 32]), [Float](repeating: 1, count: 16))
        XCTAssertEqual(bias.filter { $0 != 0 }.count, 16)
        let limit = (6 / Float(10 + 64)).squareRoot()
        XCTAssertTrue(keras.layers[0].inputWeights.scalars.allSatisfy { abs($0) <= limit })
    }

    func testDropoutIsSeededTrainingOnlyAndScaled() throws {
        let lstm = try LSTM(inputSize: 4, hiddenSize: 8, layerCount: 2, dropout: 0.5, seed: 4)
        let plain = try LSTM(inputSize: 4, hiddenSize: 8, layerCount: 2, weights: lstm.layers)
        let x = try randomTensor([4, 6, 4], seed: 5)
        XCTAssertEqual(try lstm.forward(x).output, try plain.forward(x).output)   // inference ignores dropout
        let a = try lstm.trainingForward(x, dropoutSeed: 1).result.output
        XCTAssertEqual(a, try lstm.trainingForward(x, dropoutSeed: 1).result.output)
        XCTAssertNotEqual(a, try lstm.trainingForward(x, dropoutSeed: 2).result.output)
        XCTAssertNotEqual(a, try plain.trainingForward(x).result.output)
        XCTAssertThrowsError(try LSTM(inputSize: 4, hiddenSize: 8, dropout: 1))
    }

    func testGradientsAccumulateUntilZeroed() throws {
        let lstm = try LSTM(inputSize: 3, hiddenSize: 2, seed: 1)
        let x = try randomTensor([2, 4, 3], seed: 2)
        let (r, cache) = try lstm.trainingForward(x)
        let g = try randomTensor(r.output.dimensions, seed: 3)
        var gradients = lstm.zeroGradients()
        _ = try lstm.backward(outputGradient: g, cache: cache, into: &gradients)
        let once = gradients
        _ = try lstm.backward(outputGradient: g, cache: cache, into: &gradients)
        assertClose(gradients.layers[0].inputWeights, try Tensor(shape: [8, 3], scalars: once.layers[0].inputWeights.scalars.map { 2 * $0 }), "twice")
        gradients.zero()
        XCTAssertTrue(gradients.layers[0].recurrentWeights.scalars.allSatisfy { $0 == 0 })
    }

    func testMasksAndBadInputsGiveTypedErrors() throws {
        let mask = try Tensor(shape: [2, 4], scalars: [1, 1, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(try LSTM.lengths(fromMask: mask), [2, 4])
        XCTAssertThrowsError(try LSTM.lengths(fromMask: try Tensor(shape: [1, 3], scalars: [1, 0, 1])))
        let lstm = try LSTM(inputSize: 3, hiddenSize: 2, seed: 1)
        let x = try randomTensor([2, 4, 3], seed: 2)
        XCTAssertThrowsError(try lstm.forward(try randomTensor([2, 4, 5], seed: 1)))
        XCTAssertThrowsError(try lstm.forward(try randomTensor([2, 3], seed: 1)))
        XCTAssertThrowsError(try lstm.forward(x, lengths: [5, 1]))
        XCTAssertThrowsError(try lstm.forward(x, lengths: [1]))
        XCTAssertThrowsError(try lstm.forward(x, layout: .spatial))
        XCTAssertThrowsError(try lstm.forward(x, initialState: try LSTMState.zeros(for: lstm, batch: 3)))
        XCTAssertThrowsError(try LSTM(inputSize: 0, hiddenSize: 2))
        let (_, cache) = try lstm.trainingForward(x)
        let other = try LSTM(inputSize: 3, hiddenSize: 2, layerCount: 2)
        var gradients = other.zeroGradients()
        XCTAssertThrowsError(try other.backward(outputGradient: try randomTensor([2, 4, 2], seed: 1), cache: cache, into: &gradients))
        var own = lstm.zeroGradients()
        XCTAssertThrowsError(try lstm.backward(outputGradient: try randomTensor([2, 4, 3], seed: 1), cache: cache, into: &own))
        // A zero length leaves the state at its initial value and the output zero.
        let r = try lstm.forward(x, lengths: [0, 4])
        XCTAssertTrue(try r.output.slice(0 ..< 1).scalars.allSatisfy { $0 == 0 })
        XCTAssertTrue(Array(r.finalState.hidden.scalars.prefix(2)).allSatisfy { $0 == 0 })
    }
}

extension Tensor {
    /// The first `count` timesteps of a (1, T, F) tensor.
    func prefixSteps(_ count: Int) throws -> Tensor {
        let f = dimensions[2]
        return try Tensor(shape: [1, count, f], scalars: Array(scalars.prefix(count * f)))
    }
}
