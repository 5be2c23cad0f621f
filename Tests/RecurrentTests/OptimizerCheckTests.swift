import FrameSequencing
import FrameSequencingRuntime
import XCTest
@testable import Recurrent

/// The check a Trainer runs before an optimizer step (`firstNonFiniteUpdate`)
/// must name exactly the first element the step then makes NaN or infinite, and
/// the steps, split over the pool for large parameters, must not depend on the
/// thread count.
final class OptimizerCheckTests: XCTestCase {
    /// A small, a large (two chunks on two threads) and a middle-sized parameter.
    private let shapes: [[Int]] = [[7], [2 * elementwiseThreadingThreshold + 37], [3, 5]]

    private func configurations() throws -> [(String, () throws -> any PrecheckedOptimizer)] {
        [
            ("SGD", { try SGD(learningRate: 0.5) }),
            ("SGD weight decay", { try SGD(learningRate: 0.5, weightDecay: 0.1) }),
            ("SGD momentum dampening", { try SGD(learningRate: 0.5, momentum: 0.9, dampening: 0.2) }),
            ("SGD nesterov", { try SGD(learningRate: 0.5, momentum: 0.9, nesterov: true, weightDecay: 0.01) }),
            ("Adam eps 0", { try Adam(learningRate: 0.5, epsilon: 0) }),
            ("Adam amsgrad l2 eps 0", { try Adam(learningRate: 0.5, epsilon: 0, weightDecay: 0.1, amsgrad: true) }),
            ("AdamW eps 0", { try AdamW(learningRate: 0.5, epsilon: 0, weightDecay: 0.1) }),
            ("AdamW amsgrad eps 0", { try AdamW(learningRate: 0.5, epsilon: 0, amsgrad: true) }),
            ("Adam large rate", { try Adam(learningRate: 5e37) }),   // steps of about the rate
        ]
    }

    /// Seeded values in ±scale, with `planted` (parameter, index, value) written over them.
    private func tensors(seed: UInt64, scale: Float, planted: [(Int, Int, Float)]) throws -> [Tensor] {
        var generator = SeededGenerator(seed: seed)
        var values = shapes.map { shape in (0 ..< shape.reduce(1, *)).map { _ in (generator.nextUnitFloat() * 2 - 1) * scale } }
        for (parameter, index, value) in planted { values[parameter][index] = value }
        return try zip(shapes, values).map { try Tensor(shape: Shape($0), scalars: $1) }
    }

    /// The first non-finite element of `parameters`, scanning plainly.
    private func firstNonFinite(_ parameters: [Tensor]) -> NonFiniteUpdate? {
        for (i, tensor) in parameters.enumerated() {
            let values = tensor.scalars
            if let j = values.firstIndex(where: { !$0.isFinite }) { return NonFiniteUpdate(parameter: i, index: j, value: values[j]) }
        }
        return nil
    }

    /// Runs up to three steps of every configuration; before each, the check's
    /// answer must equal a plain scan of what the step then writes. Returns the
    /// configurations whose step made something non-finite.
    private func assertCheckMatchesStep(parameters initial: [Tensor], gradients: [[Tensor]], label: String,
                                        configurations given: [(String, () throws -> any PrecheckedOptimizer)]? = nil)
        throws -> Set<String> {
        try Set(stepsMadeNonFinite(parameters: initial, gradients: gradients, label: label, configurations: given).keys)
    }

    /// As ``assertCheckMatchesStep``, returning the step (from 1) at which each
    /// configuration first made something non-finite.
    private func stepsMadeNonFinite(parameters initial: [Tensor], gradients: [[Tensor]], label: String,
                                    configurations given: [(String, () throws -> any PrecheckedOptimizer)]?) throws -> [String: Int] {
        var hit: [String: Int] = [:]
        for (name, make) in try given ?? configurations() {
            var optimizer = try make()
            var parameters = initial
            for (step, stepGradients) in gradients.enumerated() {
                let predicted = try optimizer.firstNonFiniteUpdate(parameters: parameters, gradients: stepGradients)
                try optimizer.step(parameters: &parameters, gradients: stepGradients)
                let actual = firstNonFinite(parameters)
                let context = "\(label), \(name), step \(step + 1)"
                XCTAssertEqual(predicted?.parameter, actual?.parameter, context)
                XCTAssertEqual(predicted?.index, actual?.index, context)
                if let predicted, let actual {
                    XCTAssert(predicted.value.bitPattern == actual.value.bitPattern || (predicted.value.isNaN && actual.value.isNaN),
                              "\(context): \(predicted.value) against \(actual.value)")
                }
                if actual != nil {   // the parameters are no longer a valid start
                    hit[name] = step + 1
                    break
                }
            }
        }
        return hit
    }

    func testTheCheckFindsWhatTheStepWouldMakeNonFinite() throws {
        let large = shapes[1].reduce(1, *)
        let gradients = try (0 ..< 3).map { try tensors(seed: 10 + UInt64($0), scale: 1, planted: []) }
        // Finite values: only the large rate's steps (about 5e37 each, growing with
        // the bias correction) leave Float32 within three steps.
        XCTAssertEqual(try assertCheckMatchesStep(parameters: try tensors(seed: 1, scale: 1, planted: []),
                                                  gradients: gradients, label: "finite"), ["Adam large rate"])
        // Overflow: parameters near the largest Float, stepped further out by a large
        // gradient; in the large parameter's second chunk and (later) in its first.
        let overflow = try tensors(seed: 2, scale: 1, planted: [(1, large - 3, -3e38), (1, 40, 3.3e38), (2, 4, 3e38)])
        var pushed = gradients
        pushed[0] = try tensors(seed: 20, scale: 1, planted: [(1, large - 3, 3e38), (1, 40, -3e38), (2, 4, -3e38)])
        XCTAssertEqual(try assertCheckMatchesStep(parameters: overflow, gradients: pushed, label: "overflow"),
                       ["SGD", "SGD weight decay", "SGD momentum dampening", "SGD nesterov", "Adam large rate"])
        // A zero gradient with zero moments and eps 0: Adam divides 0 by 0 (NaN);
        // the later chunk's element must not win over the earlier one's.
        let zeroGradients = try tensors(seed: 30, scale: 1, planted: [(1, large - 1, 0), (1, 100, 0)])
        XCTAssertEqual(try assertCheckMatchesStep(parameters: try tensors(seed: 3, scale: 1, planted: []),
                                                  gradients: [zeroGradients] + gradients, label: "zero gradient"),
                       ["Adam eps 0", "AdamW eps 0", "AdamW amsgrad eps 0", "Adam large rate"])   // amsgrad's L2 term makes the gradient nonzero
    }

    func testTheCheckUsesTheStateCarriedFromEarlierSteps() throws {
        // Overflows that only the real state reaches: a check that used the first
        // step's constants or buffers would see them a step early or not at all.
        let large = shapes[1].reduce(1, *)
        let zero = try tensors(seed: 50, scale: 0, planted: [])
        // SGD with momentum: a step of 3e37 keeps 3.0e38 finite, then a zero
        // gradient still moves it by the momentum (0.5 * 0.9 * 6e37) past Float32.
        let momentum = try stepsMadeNonFinite(
            parameters: try tensors(seed: 5, scale: 1, planted: [(1, large - 7, 3.0e38)]),
            gradients: [try tensors(seed: 51, scale: 1, planted: [(1, large - 7, -6e37)]), zero],
            label: "momentum", configurations: [
                ("SGD momentum dampening", { try SGD(learningRate: 0.5, momentum: 0.9, dampening: 0.2) }),
                ("SGD", { try SGD(learningRate: 0.5) }),
            ])
        XCTAssertEqual(momentum, ["SGD momentum dampening": 2])
        // Adam without momentum (beta1 0) moves an element by the rate per step
        // while its gradient's sign holds: 3.0e38 plus 1.4e37 twice is finite,
        // three times is not. With the previous step's second-moment correction
        // the third move would be 0.82 times the rate and stay finite.
        let same = try tensors(seed: 52, scale: 1, planted: [(1, 123, -0.5)])
        let adam = try stepsMadeNonFinite(parameters: try tensors(seed: 6, scale: 1e-3, planted: [(1, 123, 3.0e38)]),
                                          gradients: [same, same, same], label: "bias correction",
                                          configurations: [("Adam", { try Adam(learningRate: 1.4e37, betas: (0, 0.999)) })])
        XCTAssertEqual(adam, ["Adam": 3])
    }

    func testSquareRootIsIEEEs() {
        for x: Float in [0, -0, 1, 2, 0.25, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -1, -.infinity,
                         -.leastNonzeroMagnitude, .nan] {
            let (expected, actual) = (x.squareRoot(), squareRoot(x))
            XCTAssert(expected.bitPattern == actual.bitPattern || (expected.isNaN && actual.isNaN), "sqrt(\(x)): \(actual)")
        }
    }

    func testLargeStepsAreTheSameWithOneAndTwoThreads() throws {
        guard WorkerPool.shared.threadLimit >= 2, WorkerPool.shared.threadCount >= 2 else {
            throw XCTSkip("needs 2 cores and FRAMESEQ_THREADS unset or >= 2")
        }
        let gradients = try (0 ..< 3).map { try tensors(seed: 40 + UInt64($0), scale: 1, planted: []) }
        for (name, make) in try configurations() {
            var results: [([Tensor], OptimizerState)] = []
            for threads in [1, 2] {
                let saved = WorkerPool.shared.threadLimit
                WorkerPool.shared.threadLimit = threads
                defer { WorkerPool.shared.threadLimit = saved }
                var optimizer = try make()
                var parameters = try tensors(seed: 4, scale: 1, planted: [])
                for stepGradients in gradients { try optimizer.step(parameters: &parameters, gradients: stepGradients) }
                results.append((parameters, optimizer.exportState()))
            }
            XCTAssertEqual(results[0].0.map { $0.scalars.map(\.bitPattern) }, results[1].0.map { $0.scalars.map(\.bitPattern) },
                           "\(name): parameters, bit for bit")
            for (key, tensor) in results[0].1.tensors {
                XCTAssertEqual(tensor.scalars.map(\.bitPattern), results[1].1.tensors[key]?.scalars.map(\.bitPattern),
                               "\(name): \(key), bit for bit")
            }
            XCTAssertEqual(results[0].1.scalars, results[1].1.scalars, name)
        }
    }
}
