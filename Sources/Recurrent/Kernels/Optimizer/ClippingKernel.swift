import FrameSequencing

// Gradient clipping's loops over validated gradients: the one place their
// pointers are taken.

extension GradientClipping {
    /// Each tensor's sum of squares in Float64, or `nonFinite` for the first
    /// NaN or infinite element. (A Float32 square is below 1.2e77, so a Float64 sum
    /// of squares is non-finite only when an element is.)
    static func sumsOfSquares(_ gradients: [Tensor]) throws -> [Double] {
        var sums: [Double] = []
        sums.reserveCapacity(gradients.count)
        for (t, gradient) in gradients.enumerated() {
            let sum = gradient.withUnsafeBufferPointer { g in g.reduce(0.0) { $0 + Double($1) * Double($1) } }
            guard sum.isFinite else {
                let (index, value) = gradient.withUnsafeBufferPointer { g in
                    let index = g.firstIndex { !$0.isFinite }!
                    return (index, g[index])
                }
                throw RecurrentError.nonFinite(name: "gradient \(t) of \(gradients.count)", index: index, value: value)
            }
            sums.append(sum)
        }
        return sums
    }

    /// Multiplies every element by `factor`, rounding each product once. For a
    /// Float32 factor this equals the Float32 product (a Float64 product of two
    /// Float32 values is exact), so PyTorch's `g.mul_(clip_coef)` is reproduced.
    func scale(_ tensor: inout Tensor, by factor: Double) {
        tensor.withUnsafeMutableBufferPointer { g in
            for j in g.indices { g[j] = Float(Double(g[j]) * factor) }
        }
    }

    /// Limits every element to `-threshold ... threshold`.
    func clamp(_ tensor: inout Tensor, to threshold: Float) {
        tensor.withUnsafeMutableBufferPointer { g in
            for j in g.indices { g[j] = min(max(g[j], -threshold), threshold) }
        }
    }
}
