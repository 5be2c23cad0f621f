import Dispatch
import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// Inference reuses an LSTM's packed weights across calls
/// (LSTMPackedWeights.swift). These tests hold that a packing is never used
/// after its weights change, whichever way they are written, and that packing
/// for reuse gives exactly what packing per call gives on every kernel path.
final class LSTMPackedWeightsTests: XCTestCase {
    /// Two shapes: input weights small enough for the fused steps to do the
    /// input product (I 5, H 12), and too large (I 2000, H 64: x W_ih^T runs
    /// over all rows first, from a packed W_ih^T of 2 MB, in column groups).
    let shapes = [(input: 5, hidden: 12, layers: 2), (input: 2000, hidden: 64, layers: 1)]

    func makeLSTM(_ shape: (input: Int, hidden: Int, layers: Int), seed: UInt64) throws -> LSTM {
        try LSTM(inputSize: shape.input, hiddenSize: shape.hidden, layerCount: shape.layers, seed: seed)
    }

    /// Outputs of `lstm` (fresh or not) and of a new LSTM built from its
    /// current weights, which has packed nothing yet, compared bit for bit.
    func assertMatchesFreshCopy(_ lstm: LSTM, _ x: Tensor, _ label: String) throws {
        let fresh = try LSTM(inputSize: lstm.inputSize, hiddenSize: lstm.hiddenSize, layerCount: lstm.layerCount,
                             weights: lstm.layers)
        let (actual, expected) = (try lstm.forward(x), try fresh.forward(x))
        for (name, a, e) in [("output", actual.output, expected.output), ("h_n", actual.finalState.hidden,
                                                                           expected.finalState.hidden),
                             ("c_n", actual.finalState.cell, expected.finalState.cell)] {
            XCTAssertEqual(a.scalars.map(\.bitPattern), e.scalars.map(\.bitPattern), "\(label): \(name)")
        }
    }

    func testEveryWayOfWritingTheWeightsDropsThePacking() throws {
        for (index, shape) in shapes.enumerated() {
            let x = try randomTensor([3, 4, shape.input], seed: 40 + UInt64(index))
            var lstm = try makeLSTM(shape, seed: UInt64(index))
            let before = try lstm.forward(x).output   // packs
            try assertMatchesFreshCopy(lstm, x, "\(shape) unchanged")

            lstm.layers[0].inputWeights.withUnsafeMutableBufferPointer { $0[3] += 0.5 }
            try assertMatchesFreshCopy(lstm, x, "\(shape) after an in-place write to W_ih")
            XCTAssertNotEqual(try lstm.forward(x).output.scalars, before.scalars, "\(shape): the write changes outputs")

            lstm.layers[lstm.layers.count - 1].recurrentWeights.withUnsafeMutableBufferPointer { $0[1] -= 0.25 }
            try assertMatchesFreshCopy(lstm, x, "\(shape) after an in-place write to the top layer's W_hh")

            lstm.visitParameters { parameter, tensor in   // the optimizers' route
                if parameter % 4 == 2 { tensor.withUnsafeMutableBufferPointer { $0[0] += 1 } }   // b_ih
            }
            try assertMatchesFreshCopy(lstm, x, "\(shape) after visitParameters")

            let other = try makeLSTM(shape, seed: 99)
            lstm.layers[0] = other.layers[0]
            try assertMatchesFreshCopy(lstm, x, "\(shape) after replacing a direction")

            // A copy shares the packing until one of them writes its weights.
            let original = try lstm.forward(x).output
            var copy = lstm
            copy.layers[0].recurrentBias.withUnsafeMutableBufferPointer { $0[2] += 2 }
            try assertMatchesFreshCopy(copy, x, "\(shape) the written copy")
            XCTAssertEqual(try lstm.forward(x).output.scalars.map(\.bitPattern), original.scalars.map(\.bitPattern),
                           "\(shape): the unwritten original keeps its outputs")
        }
    }

    /// Several threads packing a fresh LSTM's weights at once all get the
    /// serial result (one of them packs; the others wait for it).
    func testConcurrentFirstCallsPackOnce() throws {
        let shape = shapes[1]
        let x = try randomTensor([2, 3, shape.input], seed: 8)
        let expected = try makeLSTM(shape, seed: 7).forward(x).output.scalars.map(\.bitPattern)
        let lstm = try makeLSTM(shape, seed: 7)
        let results = Locked<[[UInt32]]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let output = (try? lstm.forward(x).output.scalars.map(\.bitPattern)) ?? []
            results.withLock { $0.append(output) }
        }
        for output in results.withLock({ $0 }) { XCTAssertEqual(output, expected) }
    }

    /// On every path this CPU runs, a direction packed for reuse (W_ih^T
    /// included) and one packed per call give the same bits.
    func testPackedForReuseEqualsPackedPerCallOnEveryPath() throws {
        for shape in shapes {
            let g = LSTMSequenceGeometry(batch: 7, timesteps: 3, inputSize: shape.input, hiddenSize: shape.hidden,
                                         timeMajor: false, reversed: false)
            let lstm = try makeLSTM(shape, seed: 11)
            let x = try randomTensor([7, 3, shape.input], seed: 12).scalars
            let (h0, c0) = ([Float](repeating: 0.1, count: 7 * shape.hidden), [Float](repeating: -0.2, count: 7 * shape.hidden))
            for path in GEMMKernelPath.available {
                func run(forReuse: Bool) -> [Float] {
                    var (output, hn, cn) = ([Float](repeating: .nan, count: g.rows * shape.hidden),
                                            [Float](repeating: .nan, count: 7 * shape.hidden),
                                            [Float](repeating: .nan, count: 7 * shape.hidden))
                    var gates = [Float](repeating: .nan, count: g.rows * g.gateWidth)
                    lstm.layers[0].withPointers { w in
                        let packed = forReuse ? LSTMPackedDirection(g, weights: w, path: path, forReuse: true) : nil
                        lstmSequenceForward(g, input: x, inputStride: shape.input, weights: w, initialHidden: h0,
                                            initialCell: c0, lengths: nil, output: &output, outputStride: shape.hidden,
                                            finalHidden: &hn, finalCell: &cn, gates: &gates, record: nil, path: path,
                                            packed: packed)
                    }
                    return output + hn + cn
                }
                XCTAssertEqual(run(forReuse: true).map(\.bitPattern), run(forReuse: false).map(\.bitPattern),
                               "\(path.rawValue) I \(shape.input) H \(shape.hidden)")
            }
        }
    }
}
