import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// A ConvLSTM2D with ``Recomputation/keepStatesEvery(_:)`` gives the stored
/// path's output, final state and every gradient (input, initial state,
/// kernel, recurrent kernel, bias, peepholes) bit for bit, for every interval
/// k (1, 2, T - 1, T, past T) and every combination of lengths (padding, an
/// empty sequence), direction, peepholes, initial state, returnSequences, kernel
/// (3 x 3 runs Winograd, 3 x 2 one im2col product; one sequence alone splits
/// its products differently) and 1 or 2 threads. The kernel path is the
/// process's: run once more with FRAMESEQ_KERNELS=swift for the Swift path.
///
/// Tolerance: none, compared by bit pattern. The recomputed segments run the
/// stored path's own loops from a copy of the state it had, and sums over
/// time are taken in the same order (Kernels/ConvLSTM/ConvLSTMRecomputation.swift).
final class ConvLSTMRecomputationTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var batch = 2, kernel = (3, 3), reversed = false, peepholes = false, lengths: [Int]? = nil
        var initialState = false, returnSequences = true

        var description: String {
            "B\(batch) \(kernel.0)x\(kernel.1)\(reversed ? " reversed" : "")\(peepholes ? " peepholes" : "")"
                + "\(lengths.map { " lengths \($0)" } ?? "")\(initialState ? " h0" : "")\(returnSequences ? "" : " last step")"
        }
    }

    let timesteps = 5
    let frame = (height: 6, width: 5)

    /// Output, final state and every gradient of one training step, named.
    func trainingStep(_ c: Case, recomputation: Recomputation) throws -> [(String, [Float])] {
        let input = [c.batch, timesteps, frame.height, frame.width, 2]
        var layer = try smallConvLSTM(channels: 2, filters: 3, kernel: c.kernel, reversed: c.reversed,
                                      peepholeGrid: c.peepholes ? frame : nil, seed: 11)
        layer.recomputation = recomputation
        let x = try randomTensor(input, seed: 12)
        let state = c.initialState ? try randomState(layer, input: input, seed: 13) : nil
        let (result, cache) = try layer.trainingForward(x, initialState: state, lengths: c.lengths,
                                                        returnSequences: c.returnSequences)
        let g = try randomTensor(result.output.dimensions, seed: 14)
        let final = ConvLSTMState(hidden: try randomTensor(result.finalState.hidden.dimensions, seed: 15),
                                  cell: try randomTensor(result.finalState.cell.dimensions, seed: 16))
        var gradients = layer.zeroGradients()
        let inputs = try layer.backward(outputGradient: g, finalStateGradient: final, cache: cache, into: &gradients)
        var named = [("output", result.output), ("h_n", result.finalState.hidden), ("c_n", result.finalState.cell),
                     ("dInput", inputs.input), ("dh0", inputs.initialState.hidden), ("dc0", inputs.initialState.cell),
                     ("dKernel", gradients.kernel), ("dRecurrentKernel", gradients.recurrentKernel), ("dBias", gradients.bias)]
        if let peepholes = gradients.peepholes {
            named += [("dPeepholeInput", peepholes.input), ("dPeepholeForget", peepholes.forget),
                      ("dPeepholeOutput", peepholes.output)]
        }
        return named.map { ($0.0, $0.1.scalars) }
    }

    func assertRecomputationMatches(_ c: Case, line: UInt = #line) throws {
        for threads in recomputationThreadCounts {
            try withThreadLimit(threads) {
                let stored = try trainingStep(c, recomputation: .none)
                for k in [1, 2, timesteps - 1, timesteps, timesteps + 3] {
                    let recomputed = try trainingStep(c, recomputation: .keepStatesEvery(k))
                    for ((name, actual), (_, expected)) in zip(recomputed, stored) {
                        assertBitwiseEqual("\(c) k \(k) threads \(threads): \(name)", actual, expected, line: line)
                    }
                }
            }
        }
    }

    func testEveryIntervalEqualsTheStoredPath() throws {
        for kernel in [(3, 3), (3, 2)] {
            for reversed in [false, true] {
                for returnSequences in [true, false] {
                    try assertRecomputationMatches(Case(kernel: kernel, reversed: reversed, returnSequences: returnSequences))
                }
            }
        }
    }

    func testWithLengthsPeepholesAndInitialState() throws {
        for kernel in [(3, 3), (3, 2)] {
            for reversed in [false, true] {
                for lengths in [[5, 3], [2, 0], [4, 5]] {
                    try assertRecomputationMatches(Case(kernel: kernel, reversed: reversed, peepholes: true,
                                                        lengths: lengths, initialState: true))
                    try assertRecomputationMatches(Case(kernel: kernel, reversed: reversed, lengths: lengths,
                                                        returnSequences: false))
                }
            }
        }
    }

    func testOneSequence() throws {
        for kernel in [(3, 3), (3, 2)] {
            try assertRecomputationMatches(Case(batch: 1, kernel: kernel, peepholes: true, initialState: true))
            try assertRecomputationMatches(Case(batch: 1, kernel: kernel, reversed: true, lengths: [3]))
        }
    }

    /// A forecaster with recomputation on every layer trains to the same bits.
    func testForecasterSetsEveryLayer() throws {
        var model = try ConvLSTMForecaster(frameHeight: 8, frameWidth: 8, channels: 1, filters: [4, 3], horizon: 3, seed: 51)
        let frames = try randomTensor([2, 6, 8, 8, 1], seed: 52, scale: 0.5)
        func step() throws -> [Tensor] {
            let (predicted, cache) = try model.trainingForward(frames)
            var gradients = model.zeroGradients()
            let dFrames = try model.backward(outputGradient: try randomTensor(predicted.dimensions, seed: 53),
                                             cache: cache, into: &gradients)
            return [predicted, dFrames] + gradients.tensors
        }
        let stored = try step()
        try model.setRecomputation(.keepStatesEvery(2))
        XCTAssertEqual((model.encoder + model.forecaster).map(\.recomputation),
                       Array(repeating: .keepStatesEvery(2), count: 4))
        for (index, (actual, expected)) in zip(try step(), stored).enumerated() {
            assertBitwiseEqual("tensor \(index)", actual.scalars, expected.scalars)
        }
        XCTAssertThrowsError(try model.setRecomputation(.keepStatesEvery(0)))
    }

    /// The training forward alone gives inference's numbers too.
    func testTrainingForwardEqualsInference() throws {
        var layer = try smallConvLSTM(channels: 2, filters: 3, kernel: (3, 3), seed: 21)
        let x = try randomTensor([2, 6, 6, 5, 2], seed: 22)
        let inference = try layer.forward(x, lengths: [6, 4])
        layer.recomputation = .keepStatesEvery(4)
        let (training, _) = try layer.trainingForward(x, lengths: [6, 4])
        assertBitwiseEqual("output", training.output.scalars, inference.output.scalars)
        assertBitwiseEqual("c_n", training.finalState.cell.scalars, inference.finalState.cell.scalars)
    }

    /// The example of ``Recomputation``'s documentation.
    func testDocumentationExample() throws {
        let frames = try randomTensor([2, 10, 8, 8, 3], seed: 41)
        var layer = try ConvLSTM2D(inputChannels: 3, filters: 16, kernelSize: (3, 3), padding: .same, seed: 1)
        layer.recomputation = .keepStatesEvery(4)
        let (result, cache) = try layer.trainingForward(frames)   // keeps (h, c) before steps 4, 8, ...
        let g = try randomTensor(result.output.dimensions, seed: 42)
        var gradients = layer.zeroGradients()
        let inputGradients = try layer.backward(outputGradient: g, finalStateGradient: nil, cache: cache, into: &gradients)
        XCTAssertEqual(cache.checkpoints?.byteCount, 4 * 2 * 2 * (2 * 8 * 8 * 16))   // 2 states (h, c) of B x P x F
        XCTAssertEqual(inputGradients.input.dimensions, frames.dimensions)
    }

    func testIntervalBelowOneIsRefused() throws {
        var layer = try smallConvLSTM(seed: 1)
        layer.recomputation = .keepStatesEvery(0)
        let x = try randomTensor([1, 3, 4, 4, 2], seed: 2)
        XCTAssertThrowsError(try layer.trainingForward(x)) { error in
            XCTAssert("\(error)".contains("keepStatesEvery(k) with k >= 1"), "\(error)")
        }
        XCTAssertNoThrow(try layer.forward(x), "inference keeps nothing, so the setting does not matter")
    }

    /// `recordBytes` is what the cache holds, for both settings.
    func testRecordBytesIsWhatTheCacheHolds() throws {
        var layer = try smallConvLSTM(channels: 2, filters: 3, kernel: (3, 3), seed: 31)
        let (batch, steps, pixels) = (2, 7, 6 * 5)
        let x = try randomTensor([batch, steps, 6, 5, 2], seed: 32)
        for recomputation in [Recomputation.none, .keepStatesEvery(1), .keepStatesEvery(3), .keepStatesEvery(7),
                              .keepStatesEvery(9)] {
            layer.recomputation = recomputation
            let (_, cache) = try layer.trainingForward(x)
            let held = cache.record.map { $0.byteCount } ?? cache.checkpoints!.byteCount
            XCTAssertEqual(held, ConvLSTM2D.recordBytes(batch: batch, timesteps: steps, pixels: pixels, filters: 3,
                                                        recomputation: recomputation), "\(recomputation)")
        }
        XCTAssertEqual(ConvLSTM2D.recordBytes(batch: 8, timesteps: 10, pixels: 4096, filters: 64, recomputation: .none),
                       4 * 8 * 10 * 4096 * 6 * 64)
        XCTAssertEqual(ConvLSTM2D.recordBytes(batch: 8, timesteps: 10, pixels: 4096, filters: 64,
                                              recomputation: .keepStatesEvery(3)), 4 * 3 * 8 * 4096 * 2 * 64)
        XCTAssertEqual(ConvLSTM2D.timeLoopBytes(batch: 8, timesteps: 10, pixels: 4096, filters: 64,
                                                recomputation: .keepStatesEvery(3)), 4 * 8 * 3 * 4096 * 10 * 64)
    }
}
