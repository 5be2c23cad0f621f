import CFrameKernels
import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// The fused C time loops (AVX-512, AVX2) against the Swift reference loop:
/// every output of one direction's forward and backward, on sizes that are not
/// multiples of the register blocks or of the vector widths (16, 8 units), both
/// layouts and both directions. A batch runs in tiles of near-equal heights of
/// at most 4 (AVX-512) or 6 (AVX2) rows forward and 8 or 6 backward: the
/// batches below give every height from 1 to 8 on both paths.
///
/// Tolerance: the C kernels fuse multiply-adds and sum the recurrent product in
/// another order than the Swift path, so results differ by rounding only: the
/// worst difference seen is 6e-7 on the small cases and 4.8e-6 on the I = 4000
/// one (input gradients summed over 4000 products; printed per case), against
/// a bound of 5e-6 + 5e-5 relative.
final class LSTMFusedKernelTests: XCTestCase {
    let tolerance = (atol: Float(5e-6), rtol: Float(5e-5))

    struct Case {
        let batch, timesteps, input, hidden: Int
        let timeMajor, reversed: Bool
        /// h0 all zeros (the fused forward then skips the first step's recurrent product).
        var zeroState = false
    }

    let cases = [
        Case(batch: 1, timesteps: 1, input: 1, hidden: 1, timeMajor: false, reversed: false),
        Case(batch: 2, timesteps: 3, input: 5, hidden: 11, timeMajor: false, reversed: false),
        Case(batch: 3, timesteps: 2, input: 9, hidden: 24, timeMajor: true, reversed: true),
        Case(batch: 8, timesteps: 3, input: 6, hidden: 13, timeMajor: false, reversed: true),
        Case(batch: 5, timesteps: 3, input: 7, hidden: 9, timeMajor: false, reversed: false),
        Case(batch: 7, timesteps: 4, input: 3, hidden: 17, timeMajor: true, reversed: false),
        Case(batch: 9, timesteps: 2, input: 5, hidden: 33, timeMajor: false, reversed: true),
        Case(batch: 17, timesteps: 3, input: 4, hidden: 7, timeMajor: true, reversed: true),
        Case(batch: 4, timesteps: 5, input: 6, hidden: 16, timeMajor: false, reversed: false),
        Case(batch: 6, timesteps: 3, input: 5, hidden: 19, timeMajor: true, reversed: false, zeroState: true),
        Case(batch: 5, timesteps: 2, input: 3, hidden: 8, timeMajor: false, reversed: true, zeroState: true),
        // Input weights too large to join the step's product: x W_ih^T for all rows first.
        Case(batch: 6, timesteps: 3, input: 4000, hidden: 33, timeMajor: false, reversed: true),
    ]

    func geometry(_ c: Case) -> LSTMSequenceGeometry {
        LSTMSequenceGeometry(batch: c.batch, timesteps: c.timesteps, inputSize: c.input, hiddenSize: c.hidden,
                             timeMajor: c.timeMajor, reversed: c.reversed)
    }

    /// Everything one direction produces, as flat arrays with names.
    func run(_ c: Case, path: GEMMKernelPath, seed: UInt64) -> [(String, [Float])] {
        let g = geometry(c)
        let (rows, hidden, width) = (g.rows, c.hidden, g.gateWidth)
        var generator = SeededGenerator(seed: seed)
        func random(_ count: Int, scale: Float = 1) -> [Float] {
            (0 ..< count).map { _ in (2 * generator.nextUnitFloat() - 1) * scale }
        }
        let x = random(rows * c.input)
        let (wi, wh, bi, bh) = (random(width * c.input, scale: 0.5), random(width * hidden, scale: 0.5),
                                random(width), random(width))
        let (h0, c0) = (random(c.batch * hidden, scale: c.zeroState ? 0 : 1), random(c.batch * hidden))
        let dy = random(rows * hidden), (dhn, dcn) = (random(c.batch * hidden), random(c.batch * hidden))
        var output = [Float](repeating: .nan, count: rows * hidden)
        var (hn, cn) = ([Float](repeating: .nan, count: c.batch * hidden), [Float](repeating: .nan, count: c.batch * hidden))
        var (inferenceHn, inferenceCn) = (hn, cn)   // each pass's own, so neither can hide the other's
        var inference = [Float](repeating: .nan, count: rows * hidden)
        var record = [Float](repeating: 0, count: LSTMRecordLayout(rows: rows, hidden: hidden).count)
        var scratch = [Float](repeating: .nan, count: rows * width)
        var dx = [Float](repeating: .nan, count: rows * c.input)
        var (dwi, dwh, dbi, dbh) = ([Float](repeating: 0, count: wi.count), [Float](repeating: 0, count: wh.count),
                                    [Float](repeating: 0, count: width), [Float](repeating: 0, count: width))
        var (dh0, dc0) = ([Float](repeating: .nan, count: c.batch * hidden), [Float](repeating: .nan, count: c.batch * hidden))
        var workspace = [Float](repeating: .nan, count: lstmBackwardWorkspaceCount(g))
        wi.withUnsafeBufferPointer { wi in wh.withUnsafeBufferPointer { wh in
        bi.withUnsafeBufferPointer { bi in bh.withUnsafeBufferPointer { bh in
            let w = LSTMWeightPointers(inputWeights: wi.baseAddress!, recurrentWeights: wh.baseAddress!,
                                       inputBias: bi.baseAddress!, recurrentBias: bh.baseAddress!)
            // Inference (gates in scratch), then training (gates in the record).
            lstmSequenceForward(g, input: x, inputStride: c.input, weights: w, initialHidden: h0, initialCell: c0,
                                lengths: nil, output: &inference, outputStride: hidden, finalHidden: &inferenceHn,
                                finalCell: &inferenceCn, gates: &scratch, record: nil, path: path)
            record.withUnsafeMutableBufferPointer { r in
                lstmSequenceForward(g, input: x, inputStride: c.input, weights: w, initialHidden: h0, initialCell: c0,
                                    lengths: nil, output: &output, outputStride: hidden, finalHidden: &hn,
                                    finalCell: &cn, gates: r.baseAddress!, record: r.baseAddress!, path: path)
            }
            lstmSequenceBackward(g, input: x, inputStride: c.input, weights: w, lengths: nil, record: record,
                                 outputGradient: dy, outputGradientStride: hidden, finalHiddenGradient: dhn,
                                 finalCellGradient: dcn, inputGradient: &dx, inputGradientStride: c.input,
                                 accumulateInput: false, inputWeightsGradient: &dwi, recurrentWeightsGradient: &dwh,
                                 inputBiasGradient: &dbi, recurrentBiasGradient: &dbh,
                                 initialHiddenGradient: &dh0, initialCellGradient: &dc0, workspace: &workspace,
                                 path: path)
        } } } }
        return [("inference output", inference), ("inference h_n", inferenceHn), ("inference c_n", inferenceCn),
                ("output", output), ("h_n", hn), ("c_n", cn), ("record", record),
                ("dx", dx), ("dW_ih", dwi), ("dW_hh", dwh), ("db_ih", dbi), ("db_hh", dbh), ("dh0", dh0), ("dc0", dc0),
                ("dA", Array(workspace[0 ..< rows * width]))]
    }

    func testFusedPathsEqualTheSwiftLoop() throws {
        let fused = GEMMKernelPath.available.filter { $0.lstmLanes != nil }
        if fused.isEmpty { throw XCTSkip("no fused LSTM kernel runs on this CPU") }
        XCTAssertEqual(Set(cases.map { lstmFusesInput(self.geometry($0)) }), [false, true], "both input products covered")
        for (index, c) in cases.enumerated() {
            let expected = run(c, path: .swift, seed: UInt64(index))
            for path in fused {
                var worst: Float = 0
                for ((name, actual), (_, reference)) in zip(run(c, path: path, seed: UInt64(index)), expected) {
                    let result = compare(name, actual: actual, expected: reference,
                                         atol: tolerance.atol, rtol: tolerance.rtol)
                    XCTAssert(result.passed, "\(path.rawValue) \(c): \(result)")
                    worst = max(worst, result.worstError)
                }
                print("fused LSTM \(path.rawValue) B\(c.batch) T\(c.timesteps) I\(c.input) H\(c.hidden): worst \(worst)")
            }
        }
    }

    /// With h0 all zeros the fused forward skips the first step's recurrent
    /// product, but only while W_hh is finite: 0 * inf is NaN, which the skipped
    /// product would have spread, as the Swift loop and PyTorch do.
    func testZeroStateSkipKeepsNonFiniteRecurrentWeights() throws {
        let fused = GEMMKernelPath.available.filter { $0.lstmLanes != nil }
        if fused.isEmpty { throw XCTSkip("no fused LSTM kernel runs on this CPU") }
        let g = LSTMSequenceGeometry(batch: 3, timesteps: 2, inputSize: 4, hiddenSize: 20, timeMajor: false,
                                     reversed: false)
        var generator = SeededGenerator(seed: 7)
        func random(_ count: Int) -> [Float] { (0 ..< count).map { _ in 2 * generator.nextUnitFloat() - 1 } }
        let x = random(g.rows * 4), wi = random(g.gateWidth * 4), (bi, bh) = (random(g.gateWidth), random(g.gateWidth))
        let zeros = [Float](repeating: 0, count: 3 * 20)
        for poison in [Float.infinity, .nan] {
            var wh = random(g.gateWidth * 20)
            wh[2 * 20 + 7] = poison   // input gate of unit 2, from h unit 7
            func forward(_ path: GEMMKernelPath) -> [Float] {
                var (output, hn, cn) = ([Float](repeating: 0, count: g.rows * 20), zeros, zeros)
                var scratch = [Float](repeating: 0, count: g.rows * g.gateWidth)
                wi.withUnsafeBufferPointer { wi in wh.withUnsafeBufferPointer { wh in
                bi.withUnsafeBufferPointer { bi in bh.withUnsafeBufferPointer { bh in
                    let w = LSTMWeightPointers(inputWeights: wi.baseAddress!, recurrentWeights: wh.baseAddress!,
                                               inputBias: bi.baseAddress!, recurrentBias: bh.baseAddress!)
                    lstmSequenceForward(g, input: x, inputStride: 4, weights: w, initialHidden: zeros,
                                        initialCell: zeros, lengths: nil, output: &output, outputStride: 20,
                                        finalHidden: &hn, finalCell: &cn, gates: &scratch, record: nil, path: path)
                } } } }
                return output
            }
            let expected = forward(.swift)
            let first = (0 ..< 3).map { b in expected[g.row(b, 0) * 20 + 2] }
            XCTAssert(first.allSatisfy(\.isNaN), "the Swift loop spreads \(poison) at step 0: \(first)")
            for path in fused {
                let actual = forward(path)
                XCTAssertEqual(actual.indices.filter { actual[$0].isNaN }, expected.indices.filter { expected[$0].isNaN },
                               "NaN outputs on \(path.rawValue), W_hh holding \(poison)")
            }
        }
    }

    /// The C activations alone, against Double libm on values that cover every
    /// branch (zeros, subnormals, the clamps at 10 and 88, infinities, NaN) and a
    /// dense sweep of [-20, 20]; the bounds are Activations.swift's (the C code
    /// evaluates the same polynomials with fused multiply-adds).
    func testCActivationsMeetTheSwiftBounds() throws {
        var inputs: [Float] = [0, -0, .leastNonzeroMagnitude, -.leastNormalMagnitude, 1e-30, 4.5050907, 0.4087047,
                               8.4911, 9.99, 10, 10.01, 17.3287, 87.68, 88, 88.5, 1e30, .infinity, -.infinity, .nan]
        inputs += inputs.map { -$0 }
        inputs += (0 ... 40_000).map { Float($0) / 1000 - 20 }
        let paths = GEMMKernelPath.available.filter { $0.lstmLanes != nil }
        if paths.isEmpty { throw XCTSkip("no C activation runs on this CPU") }
        for path in paths {
            var (tanhs, sigmoids) = ([Float](repeating: 0, count: inputs.count), [Float](repeating: 0, count: inputs.count))
            if path == .avx512 {
                fsk_tanh_avx512(inputs, &tanhs, inputs.count)
                fsk_sigmoid_avx512(inputs, &sigmoids, inputs.count)
            } else {
                fsk_tanh_avx2(inputs, &tanhs, inputs.count)
                fsk_sigmoid_avx2(inputs, &sigmoids, inputs.count)
            }
            for (i, x) in inputs.enumerated() {
                if x.isNaN {
                    XCTAssert(tanhs[i].isNaN && sigmoids[i].isNaN, "\(path.rawValue): NaN in, \(tanhs[i]), \(sigmoids[i]) out")
                    continue
                }
                XCTAssertLessThanOrEqual(abs(Double(tanhs[i]) - referenceTanh(x)), 1.5e-7, "\(path.rawValue) tanh(\(x))")
                XCTAssertLessThanOrEqual(abs(Double(sigmoids[i]) - referenceSigmoid(x)), 1e-7, "\(path.rawValue) sigmoid(\(x))")
            }
            XCTAssertEqual(tanhs[inputs.firstIndex(of: 10)!], 1, "\(path.rawValue): tanh saturates")
            XCTAssertEqual(sigmoids[inputs.firstIndex(of: 88.5)!], 1, "\(path.rawValue): sigmoid saturates")
            XCTAssertEqual(sigmoids[inputs.firstIndex(of: -88.5)!], 0, "\(path.rawValue): sigmoid flushes to 0")
        }
    }
}
