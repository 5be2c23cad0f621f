import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// The C optimizer steps (CFrameKernelsOptim.h) against the Swift loops they
/// replace on the AVX2 and AVX-512 paths: every result bit for bit, on sizes
/// that are not multiples of the vector widths (8, 16) and on one split over
/// the pool, for every branch of the updates, with special values mixed in
/// (signed zeros, subnormals, huge values, infinities, NaN, negative second
/// moments). NaN results must be NaN on both sides; their payloads are not
/// compared (which NaN operand an instruction passes on is the compiler's choice).
final class OptimizerKernelTests: XCTestCase {
    let sizes = [1, 7, 8, 9, 15, 16, 17, 31, 33, 100_003]
    let specials: [Float] = [0, -0, .leastNormalMagnitude / 8, -.leastNormalMagnitude / 8, 1e30, -1e30, .infinity, -.infinity, .nan, 1, -1]

    var cPaths: [GEMMKernelPath] { GEMMKernelPath.available.filter { $0 != .swift } }

    /// Seeded values in [-scale, scale), every 13th replaced by a special value
    /// (so each vector of the small sizes holds some).
    func values(_ count: Int, seed: UInt64, scale: Float = 1, nonNegative: Bool = false) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0 ..< count).map { j in
            if j % 13 == 5 { return specials[(j / 13 + Int(seed)) % specials.count] }
            let x = (2 * generator.nextUnitFloat() - 1) * scale
            return nonNegative ? abs(x) : x
        }
    }

    func assertSameBits(_ actual: [Float], _ expected: [Float], _ label: String) {
        guard let j = actual.indices.first(where: {
            actual[$0].isNaN ? !expected[$0].isNaN : actual[$0].bitPattern != expected[$0].bitPattern
        }) else { return }
        XCTFail("\(label) at \(j): expected \(expected[j]) (\(String(expected[j].bitPattern, radix: 16))), "
                + "got \(actual[j]) (\(String(actual[j].bitPattern, radix: 16)))")
    }

    func testAdamKernelsEqualTheSwiftLoopBitForBit() throws {
        if cPaths.isEmpty { throw XCTSkip("no C optimizer kernel runs on this CPU") }
        // (decoupled, weight decay, amsgrad, beta1, epsilon, step): both lerp forms
        // (1 - beta1 below and above 0.5), both decays, eps 0, later steps.
        let configurations: [(Bool, Double, Bool, Double, Double, Int)] = [
            (false, 0, false, 0.9, 1e-8, 1), (false, 0.1, false, 0.9, 1e-8, 3), (false, 0.1, true, 0.3, 1e-8, 2),
            (true, 0.01, false, 0.9, 1e-8, 1), (true, 0.01, true, 0.9, 0, 5), (true, 0, true, 0.2, 1e-6, 4),
        ]
        for (index, (decoupled, decay, amsgrad, beta1, epsilon, step)) in configurations.enumerated() {
            let algorithm = try AdamAlgorithm(prefix: "adam", decoupledWeightDecay: decoupled, learningRate: 1e-2,
                                              betas: (beta1, 0.999), epsilon: epsilon, weightDecay: decay,
                                              amsgrad: amsgrad)
            let k = algorithm.constants(step: step)
            for count in sizes {
                let seed = UInt64(index * 100 + count)
                let inputs = [values(count, seed: seed), values(count, seed: seed + 1), values(count, seed: seed + 2),
                              values(count, seed: seed + 3, scale: 0.1), values(count, seed: seed + 4, scale: 0.1)]
                // Negative second moments (only from an imported state) take the root's NaN branch.
                func run(_ path: GEMMKernelPath) -> [[Float]] {
                    var (p, g, m, v, vMax) = (inputs[0], inputs[1], inputs[2], inputs[3], inputs[4])
                    p.withUnsafeMutableBufferPointer { p in g.withUnsafeBufferPointer { g in
                    m.withUnsafeMutableBufferPointer { m in v.withUnsafeMutableBufferPointer { v in
                    vMax.withUnsafeMutableBufferPointer { vMax in
                        AdamAlgorithm.apply(p, g, m, v, vMax, amsgrad: amsgrad, k, path: path)
                    } } } } }
                    return [p, m, v, vMax]
                }
                let expected = run(.swift)
                for path in cPaths {
                    for (name, (actual, reference)) in zip(["p", "m", "v", "v_max"], zip(run(path), expected)) {
                        assertSameBits(actual, reference, "\(path.rawValue) Adam \(configurations[index]) n \(count) \(name)")
                    }
                }
            }
        }
    }

    func testSGDKernelsEqualTheSwiftLoopBitForBit() throws {
        if cPaths.isEmpty { throw XCTSkip("no C optimizer kernel runs on this CPU") }
        // (momentum, dampening, nesterov, weight decay, first step)
        let configurations: [(Double, Double, Bool, Double, Bool)] = [
            (0, 0, false, 0, false), (0, 0, false, 0.01, false), (0.9, 0, false, 0, true), (0.9, 0.3, false, 0.01, false),
            (0.9, 0, true, 0.01, false), (0.5, 0, true, 0, true),
        ]
        for (index, (momentum, dampening, nesterov, decay, first)) in configurations.enumerated() {
            let sgd = try SGD(learningRate: 0.05, momentum: momentum, dampening: dampening, nesterov: nesterov,
                              weightDecay: decay)
            let k = sgd.constants(firstBuffers: first && momentum != 0)
            for count in sizes {
                let seed = UInt64(index * 100 + count + 7)
                let inputs = [values(count, seed: seed), values(count, seed: seed + 1), values(count, seed: seed + 2)]
                func run(_ path: GEMMKernelPath) -> [[Float]] {
                    var (p, g, b) = (inputs[0], inputs[1], inputs[2])
                    p.withUnsafeMutableBufferPointer { p in g.withUnsafeBufferPointer { g in
                        if momentum == 0 { return SGD.apply(p, g, nil, k, path: path) }
                        b.withUnsafeMutableBufferPointer { b in SGD.apply(p, g, b, k, path: path) }
                    } }
                    return [p, b]
                }
                let expected = run(.swift)
                for path in cPaths {
                    for (name, (actual, reference)) in zip(["p", "b"], zip(run(path), expected)) {
                        assertSameBits(actual, reference, "\(path.rawValue) SGD \(configurations[index]) n \(count) \(name)")
                    }
                }
            }
        }
    }
}
