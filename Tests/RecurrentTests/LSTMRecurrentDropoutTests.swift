import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// Keras's `recurrent_dropout` on the LSTM: four masks per layer-direction,
/// one per gate, fixed over a call, on the training path only. The
/// deterministic parts against the Double twin (given masks and drawn ones),
/// the draws statistically, the routes bit for bit where they must not move.
/// Finite differences through the masks are in LSTMGradientTests.
final class LSTMRecurrentDropoutTests: XCTestCase {
    /// (B, T, D*H) columns of `direction`, as (B, T, H).
    private func columns(_ values: [Float], rows: Int, hidden: Int, directions: Int, _ direction: Int) -> [Float] {
        var out: [Float] = []
        for r in 0 ..< rows {
            let start = (r * directions + direction) * hidden
            out += values[start ..< start + hidden]
        }
        return out
    }

    private func slab(_ tensor: Tensor, _ index: Int) -> [Float] {
        let size = tensor.count / tensor.dimensions[0]
        return Array(tensor.scalars[index * size ..< (index + 1) * size])
    }

    /// One bidirectional layer run with `masks` (or with those it draws), forward
    /// and every gradient against `lstmReferenceForward`/`Backward` given the
    /// same masks at every timestep.
    private func checkAgainstTwin(masks given: [[Float]]?, rate: Float, lengths: [Int]?, label: String) throws {
        let (batch, steps, input, hidden) = (3, 5, 4, 7)
        var lstm = try LSTM(inputSize: input, hiddenSize: hidden, bidirectional: true, recurrentDropout: rate, seed: 21)
        lstm.recurrentDropout = rate
        let x = try randomTensor([batch, steps, input], seed: 22)
        let state = LSTMState(hidden: try randomTensor([2, batch, hidden], seed: 23, scale: 0.5),
                              cell: try randomTensor([2, batch, hidden], seed: 24, scale: 0.5))
        let (result, cache) = try lstm.run(x, initialState: state, lengths: lengths, mask: nil, layout: .batchMajor,
                                           returnSequences: true, training: true, dropoutSeed: 25, recurrentMasks: given)
        let masks = try XCTUnwrap(cache!.recurrentDropoutMasks)
        if let given { XCTAssertEqual(masks, given) }
        let g = try randomTensor(result.output.dimensions, seed: 26)
        let finalGradient = LSTMState(hidden: try randomTensor([2, batch, hidden], seed: 27),
                                      cell: try randomTensor([2, batch, hidden], seed: 28))
        var gradients = lstm.zeroGradients()
        let inputs = try lstm.backward(outputGradient: g, finalStateGradient: finalGradient, cache: cache!, into: &gradients)

        var inputGradient = [Float](repeating: 0, count: x.count)
        for direction in 0 ..< 2 {
            let twin = LSTMReferenceDirection(lstm.layers[direction], reversed: direction == 1)
            let name = "\(label) direction \(direction)"
            let f = lstmReferenceForward(twin, input: x.scalars, batch: batch, timesteps: steps,
                                         initialHidden: slab(state.hidden, direction), initialCell: slab(state.cell, direction),
                                         lengths: lengths, recurrentMasks: masks[direction])
            requireClose(compare("\(name) output", actual: columns(result.output.scalars, rows: batch * steps, hidden: hidden,
                                                                   directions: 2, direction),
                                 expected: f.output, atol: 1e-5, rtol: 1e-4))
            requireClose(compare("\(name) h_n", actual: slab(result.finalState.hidden, direction), expected: f.finalHidden,
                                 atol: 1e-5, rtol: 1e-4))
            requireClose(compare("\(name) c_n", actual: slab(result.finalState.cell, direction), expected: f.finalCell,
                                 atol: 1e-5, rtol: 1e-4))
            let r = lstmReferenceBackward(
                twin, input: x.scalars, batch: batch, timesteps: steps, initialHidden: slab(state.hidden, direction),
                initialCell: slab(state.cell, direction), lengths: lengths,
                outputGradient: columns(g.scalars, rows: batch * steps, hidden: hidden, directions: 2, direction),
                finalHiddenGradient: slab(finalGradient.hidden, direction), finalCellGradient: slab(finalGradient.cell, direction),
                recurrentMasks: masks[direction])
            let mine = gradients.layers[direction]
            for (tensor, actual, expected) in [("dW_ih", mine.inputWeights, r.inputWeights), ("dW_hh", mine.recurrentWeights, r.recurrentWeights),
                                               ("db_ih", mine.inputBias, r.inputBias), ("db_hh", mine.recurrentBias, r.recurrentBias)] {
                requireClose(compare("\(name) \(tensor)", actual: actual.scalars, expected: expected, atol: 1e-4, rtol: 1e-3))
            }
            requireClose(compare("\(name) dh_0", actual: slab(inputs.initialState.hidden, direction), expected: r.initialHidden,
                                 atol: 1e-4, rtol: 1e-3))
            requireClose(compare("\(name) dc_0", actual: slab(inputs.initialState.cell, direction), expected: r.initialCell,
                                 atol: 1e-4, rtol: 1e-3))
            for k in inputGradient.indices { inputGradient[k] += r.input[k] }
        }
        requireClose(compare("\(label) dInput", actual: inputs.input.scalars, expected: inputGradient, atol: 1e-4, rtol: 1e-3))
    }

    /// Masks given by hand (a different pattern per gate, batch entry and
    /// direction, kept values not all the same) equal the LSTM computed in Double.
    func testGivenMasksEqualTheDoubleTwin() throws {
        let (batch, hidden) = (3, 7)
        let masks: [[Float]] = (0 ..< 2).map { direction in
            (0 ..< 4 * batch * hidden).map { (e: Int) -> Float in
                let dropped = (e * 7 + direction * 3) % 5 == 0
                return dropped ? 0 : 1 + Float(e % 3) / 4
            }
        }
        try checkAgainstTwin(masks: masks, rate: 0, lengths: nil, label: "given masks")
        try checkAgainstTwin(masks: masks, rate: 0.3, lengths: [5, 2, 4], label: "given masks, lengths")
    }

    /// The masks a training pass draws apply at every timestep (the twin reads
    /// them as fixed for the call): forward and every gradient agree.
    func testDrawnMasksAreFixedOverTheCall() throws {
        try checkAgainstTwin(masks: nil, rate: 0.4, lengths: nil, label: "drawn masks")
        try checkAgainstTwin(masks: nil, rate: 0.4, lengths: [1, 5, 3], label: "drawn masks, lengths")
    }

    /// Rate 0, or inference at any rate, takes the fused route and gives the
    /// plain LSTM's numbers bit for bit.
    func testRateZeroAndInferenceAreThePlainLSTMBitForBit() throws {
        let plain = try LSTM(inputSize: 5, hiddenSize: 6, layerCount: 2, bidirectional: true, dropout: 0.3, seed: 31)
        var zero = plain
        zero.recurrentDropout = 0.5
        zero.recurrentDropout = 0
        let x = try randomTensor([2, 4, 5], seed: 32)
        let (a, cacheA) = try plain.trainingForward(x, lengths: [4, 2], dropoutSeed: 7)
        let (b, cacheB) = try zero.trainingForward(x, lengths: [4, 2], dropoutSeed: 7)
        XCTAssertEqual(a.output, b.output)
        XCTAssertEqual(a.finalState.hidden, b.finalState.hidden)
        XCTAssertEqual(a.finalState.cell, b.finalState.cell)
        XCTAssertEqual(cacheB.route, .fused)
        XCTAssertNil(cacheB.recurrentDropoutMasks)
        let g = try randomTensor(a.output.dimensions, seed: 33)
        var gradientsA = plain.zeroGradients(), gradientsB = zero.zeroGradients()
        let inputA = try plain.backward(outputGradient: g, finalStateGradient: nil, cache: cacheA, into: &gradientsA)
        let inputB = try zero.backward(outputGradient: g, finalStateGradient: nil, cache: cacheB, into: &gradientsB)
        XCTAssertEqual(inputA.input, inputB.input)
        XCTAssertEqual(gradientsA, gradientsB)

        var dropping = plain
        dropping.recurrentDropout = 0.5
        XCTAssertEqual(try dropping.forward(x, lengths: [4, 2]).output, try plain.forward(x, lengths: [4, 2]).output,
                       "inference applies no recurrent mask")
        let mask = try Tensor(shape: [2, 4], scalars: [0, 1, 1, 1, 1, 1, 1, 0])
        XCTAssertEqual(try dropping.forward(x, mask: mask).output, try plain.forward(x, mask: mask).output)
    }

    /// With masks of 1 the plain route computes what the fused one does (up to
    /// the order of the sums), so the route switch is no change of model.
    func testMasksOfOneEqualTheFusedRoute() throws {
        let lstm = try LSTM(inputSize: 5, hiddenSize: 6, layerCount: 2, bidirectional: true, seed: 34)
        let x = try randomTensor([3, 4, 5], seed: 35)
        let ones = Array(repeating: [Float](repeating: 1, count: 4 * 3 * 6), count: 4)
        let (fused, fusedCache) = try lstm.run(x, initialState: nil, lengths: nil, mask: nil, layout: .batchMajor,
                                               returnSequences: true, training: true, dropoutSeed: 0)
        let (plain, plainCache) = try lstm.run(x, initialState: nil, lengths: nil, mask: nil, layout: .batchMajor,
                                               returnSequences: true, training: true, dropoutSeed: 0, recurrentMasks: ones)
        XCTAssertEqual(plainCache!.route, .plain)
        requireClose(compare("output", actual: plain.output.scalars, expected: fused.output.scalars, atol: 1e-6, rtol: 1e-5))
        let g = try randomTensor(fused.output.dimensions, seed: 36)
        var fusedGradients = lstm.zeroGradients(), plainGradients = lstm.zeroGradients()
        let fusedInput = try lstm.backward(outputGradient: g, finalStateGradient: nil, cache: fusedCache!, into: &fusedGradients)
        let plainInput = try lstm.backward(outputGradient: g, finalStateGradient: nil, cache: plainCache!, into: &plainGradients)
        requireClose(compare("dInput", actual: plainInput.input.scalars, expected: fusedInput.input.scalars, atol: 1e-5, rtol: 1e-4))
        for (a, e) in zip(plainGradients.tensors, fusedGradients.tensors) {
            requireClose(compare("parameter gradient", actual: a.scalars, expected: e.scalars, atol: 1e-5, rtol: 1e-4))
        }
    }

    /// Over many seeds the share of zeros is the rate (within 5 standard
    /// deviations of a binomial count), kept entries are exactly 1/(1-rate),
    /// and the four gates, the layer-directions and the seeds draw apart.
    func testDrawsAreBernoulliWithTheRateAndIndependent() throws {
        let (batch, width) = (4, 9)
        for rate: Float in [0.1, 0.25, 0.5, 0.8] {
            var zeros = 0, count = 0
            for seed in 0 ..< UInt64(200) {
                for index in 0 ..< 2 {
                    let m = LSTM.recurrentDropoutMasks(seed: Trainer<Sequential, SGD>.dropoutSeed(step: Int(seed)), index: index,
                                                       batch: batch, width: width, rate: rate)
                    XCTAssertEqual(m.count, 4 * batch * width)
                    XCTAssertTrue(m.allSatisfy { $0 == 0 || $0 == 1 / (1 - rate) }, "0 or 1/(1-rate) only")
                    zeros += m.filter { $0 == 0 }.count
                    count += m.count
                }
            }
            let p = Double(rate), n = Double(count)
            let bound = 5 * (n * p * (1 - p)).squareRoot()
            print("recurrent dropout \(rate): \(zeros) zeros of \(count), expected \(n * p) +- \(bound)")
            XCTAssertLessThanOrEqual(abs(Double(zeros) - n * p), bound, "rate \(rate)")
        }
        let a = LSTM.recurrentDropoutMasks(seed: 5, index: 0, batch: batch, width: width, rate: 0.5)
        XCTAssertEqual(a, LSTM.recurrentDropoutMasks(seed: 5, index: 0, batch: batch, width: width, rate: 0.5), "same seed, same masks")
        XCTAssertNotEqual(a, LSTM.recurrentDropoutMasks(seed: 6, index: 0, batch: batch, width: width, rate: 0.5), "another seed")
        XCTAssertNotEqual(a, LSTM.recurrentDropoutMasks(seed: 5, index: 1, batch: batch, width: width, rate: 0.5), "another layer-direction")
        let gateSize = batch * width
        let gates = (0 ..< 4).map { Array(a[$0 * gateSize ..< ($0 + 1) * gateSize]) }
        XCTAssertEqual(Set(gates.map { $0.description }).count, 4, "one mask per gate")
    }

    /// Through the layer: the same seed gives the same masks and numbers,
    /// other Trainer steps other masks, every layer-direction its own, and
    /// the masks between layers stay those drawn without recurrent dropout.
    func testTrainingPassesDrawFromTheirSeed() throws {
        var lstm = try LSTM(inputSize: 3, hiddenSize: 5, layerCount: 2, bidirectional: true, dropout: 0.3, seed: 41)
        let x = try randomTensor([2, 6, 3], seed: 42)
        let (_, withoutCache) = try lstm.trainingForward(x, dropoutSeed: Trainer<Sequential, SGD>.dropoutSeed(step: 0))
        lstm.recurrentDropout = 0.3
        let step0 = Trainer<Sequential, SGD>.dropoutSeed(step: 0), step1 = Trainer<Sequential, SGD>.dropoutSeed(step: 1)
        let (first, firstCache) = try lstm.trainingForward(x, dropoutSeed: step0)
        let (again, againCache) = try lstm.trainingForward(x, dropoutSeed: step0)
        let (next, nextCache) = try lstm.trainingForward(x, dropoutSeed: step1)
        let masks = try XCTUnwrap(firstCache.recurrentDropoutMasks)
        XCTAssertEqual(masks.count, 4)
        XCTAssertEqual(Set(masks.map { $0.description }).count, 4, "every layer-direction draws its own")
        XCTAssertEqual(againCache.recurrentDropoutMasks, masks)
        XCTAssertEqual(again.output, first.output, "reproducible from the seed")
        XCTAssertNotEqual(nextCache.recurrentDropoutMasks, masks)
        XCTAssertNotEqual(next.output, first.output)
        XCTAssertEqual(firstCache.dropoutMasks, withoutCache.dropoutMasks, "dropout between layers is unchanged")
        XCTAssertNotEqual(first.output, try lstm.forward(x).output)
    }

    /// One Trainer step of an FC-LSTM: recurrent dropout changes the step's
    /// loss and update, and the same run twice gives the same numbers.
    func testATrainerStepUsesItReproducibly() throws {
        let values = (0 ..< 20).map { 0.5 + 0.4 * sin(Float($0) * 0.3) }
        let frames = try FrameStack(stacked: values, frameShape: try FrameShape(height: 1, width: 1, channels: 1))
        let windows = try frames.windows(WindowParameters(sequenceLength: 12, target: .frameAfter(steps: 1)))
        func step(rate: Float) throws -> (loss: Float, parameters: [Tensor]) {
            var lstm = try LSTM(inputSize: 1, hiddenSize: 8, seed: 51)
            lstm.recurrentDropout = rate
            let model = try CNNLSTM(features: TimeDistributed(try Sequential([.flatten])), lstm: lstm,
                                    head: try Dense(inputSize: 8, outputSize: 1, seed: 52))
            var trainer = try Trainer(model: model, optimizer: try SGD(learningRate: 0.1), loss: MeanSquaredError())
            let history = try trainer.fit(windows, options: TrainingOptions(epochs: 1, batchSize: windows.count))
            XCTAssertEqual(trainer.step, 1)
            return (history[0].trainingLoss, trainer.model.namedParameters.map(\.tensor))
        }
        let (without, with, again) = (try step(rate: 0), try step(rate: 0.5), try step(rate: 0.5))
        print("one step: loss \(without.loss) without recurrent dropout, \(with.loss) with 0.5")
        XCTAssertNotEqual(with.loss, without.loss)
        XCTAssertNotEqual(with.parameters, without.parameters)
        XCTAssertEqual(again.loss, with.loss)
        XCTAssertEqual(again.parameters, with.parameters)
    }

    func testRatesOutsideZeroToOneAreRefused() throws {
        for rate: Float in [-0.1, 1, 1.5, .nan] {
            XCTAssertThrowsError(try LSTM(inputSize: 2, hiddenSize: 3, recurrentDropout: rate)) { error in
                guard case RecurrentError.invalidArgument(let name, _, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(name, "recurrentDropout")
            }
            var lstm = try LSTM(inputSize: 2, hiddenSize: 3)
            lstm.recurrentDropout = rate
            XCTAssertThrowsError(try lstm.trainingForward(try randomTensor([1, 2, 2], seed: 1))) { error in
                guard case RecurrentError.invalidArgument(let name, _, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(name, "LSTM recurrentDropout")
            }
        }
    }
}
