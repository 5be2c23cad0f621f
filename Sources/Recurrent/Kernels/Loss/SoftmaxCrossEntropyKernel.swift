import Foundation
import FrameSequencing

// Softmax cross-entropy's row loop on validated logits and targets: the one
// place its pointers are taken.

extension SoftmaxCrossEntropy {
    /// Per-row targets: one class index per row, or C probabilities per row (row-major).
    enum Targets {
        case classes([Int])
        case probabilities([Float])
    }

    func run(_ logits: Tensor, _ weighting: LossWeighting, _ classCount: Int, _ targets: Targets) throws -> LossValue {
        var gradient = try Tensor(shape: logits.shape)
        var shifted = [Double](repeating: 0, count: classCount)   // z - max(z) of one row, (C)
        var value: Float = 0
        logits.withUnsafeBufferPointer { z in
            gradient.withUnsafeMutableBufferPointer { g in
                guard let gradientStart = g.baseAddress else { return }
                value = weighting.reduce(reduction, width: classCount, gradient: gradientStart) { row, dz, factor in
                    shifted.withUnsafeMutableBufferPointer { s in
                        let logSum = shiftLogits(z.baseAddress! + row * classCount, into: s)
                        switch targets {
                        case let .classes(classes):
                            let index = classes[row]
                            for c in 0 ..< classCount {
                                let p = exp(s[c] - logSum)
                                dz[c] = Float((c == index ? p - 1 : p) * factor)
                            }
                            return logSum - s[index]
                        case let .probabilities(q):
                            let base = row * classCount
                            var mass = 0.0, loss = 0.0
                            for c in 0 ..< classCount where q[base + c] != 0 {
                                mass += Double(q[base + c])
                                loss += Double(q[base + c]) * (logSum - s[c])
                            }
                            for c in 0 ..< classCount {
                                dz[c] = Float((exp(s[c] - logSum) * mass - Double(q[base + c])) * factor)
                            }
                            return loss
                        }
                    }
                }
            }
        }
        return LossValue(value: value, gradient: gradient)
    }
}

/// Writes `z - max(z)` of one row into `shifted` and returns `log(sum(exp(shifted)))`
/// (>= 0, the largest term being exp(0)).
///
/// Infinite maxima are resolved as limits: when the maximum is ±inf, the entries
/// equal to it become 0 and all others -inf, so +inf logits share the probability
/// and an all -inf row is uniform. A NaN anywhere makes every entry NaN.
@inline(__always)
func shiftLogits(_ z: UnsafePointer<Float>, into shifted: UnsafeMutableBufferPointer<Double>) -> Double {
    var maximum = -Double.infinity
    var sawNaN = false
    for c in shifted.indices {
        let v = Double(z[c])
        if v.isNaN { sawNaN = true } else if v > maximum { maximum = v }
    }
    if sawNaN {
        shifted.update(repeating: .nan)
        return .nan
    }
    var sum = 0.0
    for c in shifted.indices {
        let v = Double(z[c])
        let s = maximum.isInfinite ? (v == maximum ? 0 : -.infinity) : v - maximum
        shifted[c] = s
        sum += exp(s)
    }
    return log(sum)
}
