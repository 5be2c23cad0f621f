import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// One GRU direction's time loops on every kernel path this CPU runs (the
/// Swift loops, the fused AVX2 and AVX-512 steps) against the Double loops of
/// `GRUReference.swift`: output, h_n and every gradient, on sizes that are not
/// multiples of the vector widths (8, 16 units) nor of the tile heights (4 or
/// 8 rows forward, 6 or 8 backward), both layouts, both directions, both reset
/// placements, padded and unpadded batches. The C kernels fuse multiply-adds
/// and sum in another order: results differ by rounding only (worst printed).
final class GRUTwinTests: XCTestCase {
    struct Case {
        var batch: Int, steps: Int, input: Int, hidden: Int
        var timeMajor = false, reversed = false, resetAfter = true, lengths: [Int]? = nil
    }

    let cases = [
        Case(batch: 1, steps: 1, input: 1, hidden: 1),
        Case(batch: 1, steps: 1, input: 1, hidden: 1, resetAfter: false),
        Case(batch: 7, steps: 9, input: 17, hidden: 7),
        Case(batch: 9, steps: 7, input: 9, hidden: 17, timeMajor: true, reversed: true),
        Case(batch: 5, steps: 4, input: 7, hidden: 9, reversed: true, resetAfter: false),
        Case(batch: 17, steps: 3, input: 4, hidden: 33, timeMajor: true, resetAfter: false),
        Case(batch: 13, steps: 5, input: 6, hidden: 24),
        Case(batch: 8, steps: 3, input: 5, hidden: 16, timeMajor: true, reversed: true, resetAfter: false),
        Case(batch: 6, steps: 4, input: 67, hidden: 19, reversed: true),
        Case(batch: 7, steps: 9, input: 5, hidden: 7, lengths: [9, 1, 0, 5, 9, 3, 8]),
        Case(batch: 4, steps: 5, input: 3, hidden: 9, timeMajor: true, reversed: true, resetAfter: false, lengths: [5, 2, 0, 4]),
    ]

    func testEveryPathEqualsTheDoubleTwin() throws {
        for path in GEMMKernelPath.available {
            for (index, c) in cases.enumerated() {
                try check(c, path: path, seed: 700 + UInt64(index))
            }
        }
    }

    func check(_ c: Case, path: GEMMKernelPath, seed: UInt64) throws {
        let g = GRUSequenceGeometry(batch: c.batch, timesteps: c.steps, inputSize: c.input, hiddenSize: c.hidden,
                                    timeMajor: c.timeMajor, reversed: c.reversed, resetAfter: c.resetAfter)
        let (rows, hidden, width) = (g.rows, c.hidden, g.gateWidth)
        var generator = SeededGenerator(seed: seed)
        func random(_ count: Int, scale: Float = 1) -> [Float] { (0 ..< count).map { _ in (2 * generator.nextUnitFloat() - 1) * scale } }
        let weights = GRUDirectionWeights(
            inputWeights: try Tensor(shape: [width, c.input], scalars: random(width * c.input, scale: 0.5)),
            recurrentWeights: try Tensor(shape: [width, hidden], scalars: random(width * hidden, scale: 0.5)),
            inputBias: try Tensor(shape: [width], scalars: random(width)),
            recurrentBias: try Tensor(shape: [width], scalars: random(width)))
        let x = random(rows * c.input)   // in the case's layout
        let h0 = random(c.batch * hidden)
        let dy = random(rows * hidden)
        let dhn = random(c.batch * hidden)
        var output = [Float](repeating: .nan, count: rows * hidden)
        var inference = output
        var (hn, inferenceHn) = ([Float](repeating: .nan, count: c.batch * hidden), [Float](repeating: .nan, count: c.batch * hidden))
        var record = [Float](repeating: 0, count: GRURecordLayout(rows: rows, hidden: hidden).count)
        var scratch = [Float](repeating: .nan, count: rows * width)
        var dx = [Float](repeating: .nan, count: rows * c.input)
        var gradients = try GRUDirectionWeights.zeros(inputSize: c.input, hiddenSize: hidden)
        var dh0 = [Float](repeating: .nan, count: c.batch * hidden)
        var workspace = [Float](repeating: .nan, count: gruBackwardWorkspaceCount(g))
        weights.withPointers { w in
            withOptionalPointer(c.lengths) { lengths in
                gruSequenceForward(g, input: x, inputStride: c.input, weights: w, initialHidden: h0, lengths: lengths,
                                   output: &inference, outputStride: hidden, finalHidden: &inferenceHn, gates: &scratch,
                                   record: nil, path: path)
                record.withUnsafeMutableBufferPointer { record in
                    gruSequenceForward(g, input: x, inputStride: c.input, weights: w, initialHidden: h0, lengths: lengths,
                                       output: &output, outputStride: hidden, finalHidden: &hn, gates: record.baseAddress!,
                                       record: record.baseAddress!, path: path)
                }
                gradients.withMutablePointers { dwi, dwh, dbi, dbh in
                    gruSequenceBackward(g, input: x, inputStride: c.input, weights: w, lengths: lengths, record: record,
                                        outputGradient: dy, outputGradientStride: hidden, finalHiddenGradient: dhn,
                                        inputGradient: &dx, inputGradientStride: c.input, accumulateInput: false,
                                        inputWeightsGradient: dwi, recurrentWeightsGradient: dwh, inputBiasGradient: dbi,
                                        recurrentBiasGradient: dbh, initialHiddenGradient: &dh0, workspace: &workspace,
                                        path: path)
                }
            }
        }

        // The twin reads batch-major sequences.
        func batchMajor(_ values: [Float], _ features: Int) -> [Float] {
            guard c.timeMajor else { return values }
            var out = values
            for b in 0 ..< c.batch {
                for t in 0 ..< c.steps {
                    for f in 0 ..< features { out[(b * c.steps + t) * features + f] = values[(t * c.batch + b) * features + f] }
                }
            }
            return out
        }
        let twin = GRUReferenceDirection(weights, reversed: c.reversed, resetAfter: c.resetAfter)
        let expected = gruReferenceForward(twin, input: batchMajor(x, c.input), batch: c.batch, timesteps: c.steps,
                                           initialHidden: h0, lengths: c.lengths)
        // Padded rows of the upstream gradient are zeroed for the twin (the kernels must ignore them).
        var twinDy = batchMajor(dy, hidden)
        if let lengths = c.lengths {
            for b in 0 ..< c.batch { for t in lengths[b] ..< c.steps { for u in 0 ..< hidden { twinDy[(b * c.steps + t) * hidden + u] = 0 } } }
        }
        let back = gruReferenceBackward(twin, input: batchMajor(x, c.input), batch: c.batch, timesteps: c.steps,
                                        initialHidden: h0, lengths: c.lengths, outputGradient: twinDy, finalHiddenGradient: dhn)
        let name = "\(path) \(c)"
        let (forward, backward) = ((atol: Float(2e-6), rtol: Float(2e-5)), (atol: Float(2e-5), rtol: Float(2e-4)))
        let comparisons = [
            compare("\(name) output", actual: batchMajor(output, hidden), expected: expected.output, atol: forward.atol, rtol: forward.rtol),
            compare("\(name) inference output", actual: batchMajor(inference, hidden), expected: expected.output,
                    atol: forward.atol, rtol: forward.rtol),
            compare("\(name) h_n", actual: hn, expected: expected.finalHidden, atol: forward.atol, rtol: forward.rtol),
            compare("\(name) inference h_n", actual: inferenceHn, expected: expected.finalHidden, atol: forward.atol, rtol: forward.rtol),
            compare("\(name) dx", actual: batchMajor(dx, c.input), expected: back.input, atol: backward.atol, rtol: backward.rtol),
            compare("\(name) dW_ih", actual: gradients.inputWeights.scalars, expected: back.inputWeights, atol: backward.atol, rtol: backward.rtol),
            compare("\(name) dW_hh", actual: gradients.recurrentWeights.scalars, expected: back.recurrentWeights,
                    atol: backward.atol, rtol: backward.rtol),
            compare("\(name) db_ih", actual: gradients.inputBias.scalars, expected: back.inputBias, atol: backward.atol, rtol: backward.rtol),
            compare("\(name) db_hh", actual: gradients.recurrentBias.scalars, expected: back.recurrentBias,
                    atol: backward.atol, rtol: backward.rtol),
            compare("\(name) dh0", actual: dh0, expected: back.initialHidden, atol: backward.atol, rtol: backward.rtol),
        ]
        let worst = comparisons.max { $0.worstError < $1.worstError }!
        print("GRU twin \(name): worst \(worst.name.split(separator: " ").last!) \(worst.worstError)")
        for comparison in comparisons where !comparison.passed { XCTFail("\(comparison)") }
    }
}
