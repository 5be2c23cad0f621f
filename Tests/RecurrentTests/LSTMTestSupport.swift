import FrameSequencing
import Recurrent
import TestSupport

/// Seeded tensors for the Recurrent tests.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) throws -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let count = shape.reduce(1, *)
    return try Tensor(shape: Shape(shape), scalars: (0 ..< count).map { _ in (2 * generator.nextUnitFloat() - 1) * scale })
}

/// `sum(a * b)` in Double.
func dot(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.scalars, b.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

/// Returns `tensor` with element `index` moved by `delta`.
func nudged(_ tensor: Tensor, _ index: Int, by delta: Float) throws -> Tensor {
    var values = tensor.scalars
    values[index] += delta
    return try Tensor(shape: tensor.shape, scalars: values)
}

/// Central finite differences of `loss` with respect to every element of
/// `tensor`, compared with `analytic`; Float32 arithmetic, so step 1e-2 and a
/// tolerance of 2e-3 + 2e-2 * |expected| (truncation error O(step^2), rounding
/// O(eps / step)). Returns the comparison (worst error printed by the caller).
func finiteDifferenceCheck(
    _ name: String, _ tensor: Tensor, analytic: Tensor, loss: (Tensor) throws -> Double
) throws -> Comparison {
    let step: Float = 1e-2
    var numeric = [Float](repeating: 0, count: tensor.count)
    for i in 0 ..< tensor.count {
        let up = try loss(nudged(tensor, i, by: step))
        let down = try loss(nudged(tensor, i, by: -step))
        numeric[i] = Float((up - down) / Double(2 * step))
    }
    return compare(name, actual: analytic.scalars, expected: numeric, atol: 2e-3, rtol: 2e-2)
}
