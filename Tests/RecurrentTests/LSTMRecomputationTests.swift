import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// An LSTM with ``Recomputation/keepStatesEvery(_:)`` gives the stored path's
/// output, final state and every gradient (input, h0, c0, each layer's four
/// parameter tensors) bit for bit, for every interval k (1, 2, T - 1, T, past
/// T), with and without lengths, stacked and bidirectional, both layouts,
/// initial states, returnSequences true and false, dropout, 1 and 2 threads;
/// and, one direction at a time, on every kernel path this CPU has (the Swift
/// loop and the fused C steps, whose forward multiplies the input itself or
/// reads it from one product over all rows).
///
/// Tolerance: none, compared by bit pattern (see LSTMRecomputation.swift for why they agree).
final class LSTMRecomputationTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var batch = 6, timesteps = 5, input = 7, hidden = 9, layers = 1, bidirectional = false
        var lengths: [Int]? = nil, initialState = false, returnSequences = true, timeMajor = false, dropout: Float = 0

        var description: String {
            "B\(batch) T\(timesteps) I\(input) H\(hidden) L\(layers)\(bidirectional ? " bidirectional" : "")"
                + "\(lengths.map { " lengths \($0)" } ?? "")\(initialState ? " h0" : "")\(returnSequences ? "" : " last step")"
                + "\(timeMajor ? " time-major" : "")\(dropout > 0 ? " dropout" : "")"
        }
    }

    /// Output, final state and every gradient of one training step, named.
    func trainingStep(_ c: Case, recomputation: Recomputation) throws -> [(String, [Float])] {
        var lstm = try LSTM(inputSize: c.input, hiddenSize: c.hidden, layerCount: c.layers,
                            bidirectional: c.bidirectional, dropout: c.dropout, seed: 3)
        lstm.recomputation = recomputation
        let x = try randomTensor(c.timeMajor ? [c.timesteps, c.batch, c.input] : [c.batch, c.timesteps, c.input], seed: 4)
        let stateShape = [c.layers * lstm.directionCount, c.batch, c.hidden]
        let state = c.initialState
            ? LSTMState(hidden: try randomTensor(stateShape, seed: 5), cell: try randomTensor(stateShape, seed: 6)) : nil
        let (result, cache) = try lstm.trainingForward(x, initialState: state, lengths: c.lengths,
                                                       layout: c.timeMajor ? .timeMajor : .batchMajor,
                                                       returnSequences: c.returnSequences, dropoutSeed: 7)
        let g = try randomTensor(result.output.dimensions, seed: 8)
        let final = LSTMState(hidden: try randomTensor(stateShape, seed: 9), cell: try randomTensor(stateShape, seed: 10))
        var gradients = lstm.zeroGradients()
        let inputs = try lstm.backward(outputGradient: g, finalStateGradient: final, cache: cache, into: &gradients)
        var named = [("output", result.output), ("h_n", result.finalState.hidden), ("c_n", result.finalState.cell),
                     ("dInput", inputs.input), ("dh0", inputs.initialState.hidden), ("dc0", inputs.initialState.cell)]
        for (index, layer) in gradients.layers.enumerated() {
            named += [("dW_ih \(index)", layer.inputWeights), ("dW_hh \(index)", layer.recurrentWeights),
                      ("db_ih \(index)", layer.inputBias), ("db_hh \(index)", layer.recurrentBias)]
        }
        return named.map { ($0.0, $0.1.scalars) }
    }

    func assertRecomputationMatches(_ c: Case, line: UInt = #line) throws {
        for threads in recomputationThreadCounts {
            try withThreadLimit(threads) {
                let stored = try trainingStep(c, recomputation: .none)
                for k in [1, 2, c.timesteps - 1, c.timesteps, c.timesteps + 3] where k >= 1 {
                    let recomputed = try trainingStep(c, recomputation: .keepStatesEvery(k))
                    for ((name, actual), (_, expected)) in zip(recomputed, stored) {
                        assertBitwiseEqual("\(c) k \(k) threads \(threads): \(name)", actual, expected, line: line)
                    }
                }
            }
        }
    }

    func testEveryIntervalEqualsTheStoredPath() throws {
        for timeMajor in [false, true] {
            for returnSequences in [true, false] {
                try assertRecomputationMatches(Case(returnSequences: returnSequences, timeMajor: timeMajor))
                try assertRecomputationMatches(Case(layers: 2, bidirectional: true, initialState: true,
                                                    returnSequences: returnSequences, timeMajor: timeMajor))
            }
        }
    }

    func testWithLengths() throws {
        for timeMajor in [false, true] {
            for bidirectional in [false, true] {
                try assertRecomputationMatches(Case(layers: 2, bidirectional: bidirectional, lengths: [5, 3, 0, 1, 4, 5],
                                                    initialState: true, timeMajor: timeMajor))
                try assertRecomputationMatches(Case(bidirectional: bidirectional, lengths: [2, 5, 5, 1, 3, 4],
                                                    returnSequences: false, timeMajor: timeMajor))
            }
        }
    }

    func testDropoutAndBatchesSplitOverThreads() throws {
        // B 20 x H 32: the recurrent products reach the threading threshold, so
        // the batch is split over the pool in chunks of 4 rows (the last partial).
        try assertRecomputationMatches(Case(batch: 22, timesteps: 7, input: 12, hidden: 32, layers: 2, dropout: 0.3))
        try assertRecomputationMatches(Case(batch: 22, timesteps: 7, input: 12, hidden: 32, bidirectional: true,
                                            lengths: (0 ..< 22).map { $0 % 8 }, timeMajor: true))
    }

    /// The models that hold an LSTM set it there and train to the same bits.
    func testModelsSetTheirLSTM() throws {
        let frames = try randomTensor([3, 5, 8, 8, 1], seed: 61, scale: 0.5)
        func step<Model: Layer>(_ model: Model) throws -> [Tensor] {
            let (output, cache) = try model.trainingForward(frames, context: LayerContext())
            var gradients = model.zeroGradients()
            _ = try model.backward(outputGradient: try randomTensor(output.dimensions, seed: 62), cache: cache, into: &gradients)
            return [output] + gradients.tensors
        }
        var classifier = try CNNLSTM(frameHeight: 8, frameWidth: 8, channels: 1, filters: [4], hiddenSize: 6, outputs: 2,
                                     seed: 63)
        var forecaster = try CNNLSTMForecaster(frameHeight: 8, frameWidth: 8, channels: 1, filters: [4], hiddenSize: 6,
                                               seed: 64)
        let stored = (try step(classifier), try step(forecaster))
        try classifier.setRecomputation(.keepStatesEvery(2))
        try forecaster.setRecomputation(.keepStatesEvery(3))
        XCTAssertEqual(classifier.lstm.recomputation, .keepStatesEvery(2))
        XCTAssertEqual(forecaster.lstm.recomputation, .keepStatesEvery(3))
        for (index, (actual, expected)) in zip(try step(classifier), stored.0).enumerated() {
            assertBitwiseEqual("CNNLSTM tensor \(index)", actual.scalars, expected.scalars)
        }
        for (index, (actual, expected)) in zip(try step(forecaster), stored.1).enumerated() {
            assertBitwiseEqual("CNNLSTMForecaster tensor \(index)", actual.scalars, expected.scalars)
        }
        XCTAssertThrowsError(try classifier.setRecomputation(.keepStatesEvery(0)))
        XCTAssertThrowsError(try forecaster.setRecomputation(.keepStatesEvery(0)))
    }

    // MARK: One direction on every kernel path

    struct KernelCase {
        let batch, timesteps, input, hidden: Int
        let timeMajor, reversed: Bool
        var lengths: [Int]? = nil
        var zeroState = false
    }

    let kernelCases = [
        KernelCase(batch: 5, timesteps: 6, input: 7, hidden: 9, timeMajor: false, reversed: false),
        KernelCase(batch: 7, timesteps: 5, input: 3, hidden: 17, timeMajor: true, reversed: true),
        KernelCase(batch: 9, timesteps: 4, input: 5, hidden: 33, timeMajor: false, reversed: true, zeroState: true),
        KernelCase(batch: 6, timesteps: 5, input: 4, hidden: 8, timeMajor: true, reversed: false,
                   lengths: [5, 0, 3, 1, 4, 2]),
        // Input weights too large to join the step's product: x W_ih^T for all rows first.
        KernelCase(batch: 6, timesteps: 4, input: 4000, hidden: 33, timeMajor: false, reversed: false, zeroState: true),
    ]

    /// Every output of one direction's forward and backward, stored or recomputed every `interval` steps.
    func runDirection(_ c: KernelCase, path: GEMMKernelPath, interval: Int?) -> [(String, [Float])] {
        let g = LSTMSequenceGeometry(batch: c.batch, timesteps: c.timesteps, inputSize: c.input, hiddenSize: c.hidden,
                                     timeMajor: c.timeMajor, reversed: c.reversed)
        let (rows, hidden, width) = (g.rows, c.hidden, g.gateWidth)
        var generator = SeededGenerator(seed: 17)
        func random(_ count: Int, scale: Float = 1) -> [Float] {
            (0 ..< count).map { _ in (2 * generator.nextUnitFloat() - 1) * scale }
        }
        let x = random(rows * c.input, scale: c.input > 100 ? 0.1 : 1)
        let (wi, wh, bi, bh) = (random(width * c.input, scale: 0.5), random(width * hidden, scale: 0.5),
                                random(width), random(width))
        let (h0, c0) = (random(c.batch * hidden, scale: c.zeroState ? 0 : 1), random(c.batch * hidden))
        let dy = random(rows * hidden), (dhn, dcn) = (random(c.batch * hidden), random(c.batch * hidden))
        var output = [Float](repeating: .nan, count: rows * hidden)
        var (hn, cn) = ([Float](repeating: .nan, count: c.batch * hidden), [Float](repeating: .nan, count: c.batch * hidden))
        let segments = interval.map { TimeSegments(timesteps: c.timesteps, interval: $0) }
        var record = [Float](repeating: 0, count: segments == nil ? LSTMRecordLayout(rows: rows, hidden: hidden).count : 0)
        var states = [Float](repeating: .nan, count: segments.map { $0.count * 2 * c.batch * hidden } ?? 0)
        var gates = [Float](repeating: .nan, count: rows * width)
        var dx = [Float](repeating: .nan, count: rows * c.input)
        var (dwi, dwh, dbi, dbh) = ([Float](repeating: 0, count: wi.count), [Float](repeating: 0, count: wh.count),
                                    [Float](repeating: 0, count: width), [Float](repeating: 0, count: width))
        var (dh0, dc0) = ([Float](repeating: .nan, count: c.batch * hidden), [Float](repeating: .nan, count: c.batch * hidden))
        var workspace = [Float](repeating: .nan, count: segments.map { lstmRecomputedWorkspaceCount(g, $0) }
                                    ?? lstmBackwardWorkspaceCount(g))
        wi.withUnsafeBufferPointer { wi in wh.withUnsafeBufferPointer { wh in
        bi.withUnsafeBufferPointer { bi in bh.withUnsafeBufferPointer { bh in
        withOptionalPointer(c.lengths) { lengths in
            let w = LSTMWeightPointers(inputWeights: wi.baseAddress!, recurrentWeights: wh.baseAddress!,
                                       inputBias: bi.baseAddress!, recurrentBias: bh.baseAddress!)
            if let segments {
                states.withUnsafeMutableBufferPointer { states in
                    let checkpoints = LSTMCheckpointRows(base: states.baseAddress!, segments: segments, batch: c.batch,
                                                         hidden: hidden)
                    lstmSequenceForward(g, input: x, inputStride: c.input, weights: w, initialHidden: h0, initialCell: c0,
                                        lengths: lengths, output: &output, outputStride: hidden, finalHidden: &hn,
                                        finalCell: &cn, gates: &gates, record: nil, checkpoints: checkpoints, path: path)
                    lstmRecomputedBackward(
                        g, input: x, inputStride: c.input, weights: w, lengths: lengths, checkpoints: checkpoints,
                        outputGradient: dy, outputGradientStride: hidden, finalHiddenGradient: dhn, finalCellGradient: dcn,
                        inputGradient: &dx, inputGradientStride: c.input, accumulateInput: false,
                        inputWeightsGradient: &dwi, recurrentWeightsGradient: &dwh, inputBiasGradient: &dbi,
                        recurrentBiasGradient: &dbh, initialHiddenGradient: &dh0, initialCellGradient: &dc0,
                        workspace: &workspace, path: path)
                }
            } else {
                record.withUnsafeMutableBufferPointer { r in
                    lstmSequenceForward(g, input: x, inputStride: c.input, weights: w, initialHidden: h0, initialCell: c0,
                                        lengths: lengths, output: &output, outputStride: hidden, finalHidden: &hn,
                                        finalCell: &cn, gates: r.baseAddress!, record: r.baseAddress!, path: path)
                }
                lstmSequenceBackward(g, input: x, inputStride: c.input, weights: w, lengths: lengths, record: record,
                                     outputGradient: dy, outputGradientStride: hidden, finalHiddenGradient: dhn,
                                     finalCellGradient: dcn, inputGradient: &dx, inputGradientStride: c.input,
                                     accumulateInput: false, inputWeightsGradient: &dwi, recurrentWeightsGradient: &dwh,
                                     inputBiasGradient: &dbi, recurrentBiasGradient: &dbh,
                                     initialHiddenGradient: &dh0, initialCellGradient: &dc0, workspace: &workspace,
                                     path: path)
            }
        } } } } }
        return [("output", output), ("h_n", hn), ("c_n", cn), ("dx", dx), ("dW_ih", dwi), ("dW_hh", dwh),
                ("db_ih", dbi), ("db_hh", dbh), ("dh0", dh0), ("dc0", dc0), ("dA", Array(workspace[0 ..< rows * width]))]
    }

    func testEveryKernelPath() throws {
        XCTAssertEqual(Set(kernelCases.map {
            lstmFusesInput(LSTMSequenceGeometry(batch: $0.batch, timesteps: $0.timesteps, inputSize: $0.input,
                                                hiddenSize: $0.hidden, timeMajor: $0.timeMajor, reversed: $0.reversed))
        }), [false, true], "both input products covered")
        for path in GEMMKernelPath.available {
            for c in kernelCases {
                let stored = runDirection(c, path: path, interval: nil)
                for k in [1, 2, c.timesteps - 1, c.timesteps, c.timesteps + 3] {
                    for ((name, actual), (_, expected)) in zip(runDirection(c, path: path, interval: k), stored) {
                        assertBitwiseEqual("\(path.rawValue) \(c) k \(k): \(name)", actual, expected)
                    }
                }
            }
        }
    }

    // MARK: API

    func testIntervalBelowOneIsRefused() throws {
        var lstm = try LSTM(inputSize: 3, hiddenSize: 4, seed: 1)
        lstm.recomputation = .keepStatesEvery(-2)
        let x = try randomTensor([2, 3, 3], seed: 2)
        XCTAssertThrowsError(try lstm.trainingForward(x)) { error in
            XCTAssert("\(error)".contains("keepStatesEvery(k) with k >= 1"), "\(error)")
        }
        XCTAssertNoThrow(try lstm.forward(x))
    }

    /// `recordBytes` is what the cache holds, for both settings.
    func testRecordBytesIsWhatTheCacheHolds() throws {
        var lstm = try LSTM(inputSize: 5, hiddenSize: 6, layerCount: 2, bidirectional: true, seed: 1)
        let (batch, steps) = (3, 7)
        let x = try randomTensor([batch, steps, 5], seed: 2)
        for recomputation in [Recomputation.none, .keepStatesEvery(1), .keepStatesEvery(3), .keepStatesEvery(7),
                              .keepStatesEvery(9)] {
            lstm.recomputation = recomputation
            let (_, cache) = try lstm.trainingForward(x)
            let held = (cache.records + cache.checkpoints).map { $0.count * 4 }
            XCTAssertEqual(held, Array(repeating: LSTM.recordBytes(batch: batch, timesteps: steps, hiddenSize: 6,
                                                                   recomputation: recomputation), count: 4),
                           "\(recomputation)")
        }
        XCTAssertEqual(LSTM.recordBytes(batch: 32, timesteps: 50, hiddenSize: 256, recomputation: .none),
                       4 * 32 * 50 * 7 * 256)
        XCTAssertEqual(LSTM.recordBytes(batch: 32, timesteps: 50, hiddenSize: 256, recomputation: .keepStatesEvery(7)),
                       4 * 8 * 32 * 2 * 256)
        XCTAssertEqual(LSTM.timeLoopBytes(batch: 32, timesteps: 50, hiddenSize: 256, recomputation: .keepStatesEvery(7)),
                       4 * (32 * 50 * 5 * 256 + 7 * 32 * 7 * 256 + 4 * 32 * 256))
    }
}
