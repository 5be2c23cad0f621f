// Fused SIMD sigmoid and tanh for the LSTM gates, forward and backward, with
// the Double reference twins the tests hold them to.
//
// Legend: N elements of a flat buffer (any shape; the ops are element-wise).
//
// Reference equations:
//   sigmoid(x) = 1 / (1 + e^-x)              sigmoid'(x) = y (1 - y), y = sigmoid(x)
//   tanh(x)    = -expm1(-2|x|) / (2 + expm1(-2|x|)) * sign(x)
//                                            tanh'(x)    = 1 - y^2,   y = tanh(x)
//
// Accuracy, measured over all 2^32 Float inputs against Double libm: tanh
// 1.49e-7 at worst (x = 4.5058), sigmoid 9.2e-8 (x = 0.4076); the bound
// is 5e-7. Why an exp core and not a rational p(x)/q(x): Eigen's 13/6 tanh
// rational evaluated in Float without FMA is 4.1e-7 off at x = 5.83 (rounding in
// its two Horner chains), too close to that bound, for about 25% less time.
//
// Only +, -, *, /, compares, selects and integer bit operations: no libm per
// lane, and no `addingProduct`, which is a per-lane `fmaf` call on baseline x86-64.

import Foundation  // `tanh` and `exp` in Double, for the reference twins only
import FrameSequencing

// Both functions reduce to e^y for y = -2|x| or -|x| in [-88, 0]:
//   y = n ln2 + t, |t| <= ln2 / 2, n an integer;  e^y = 2^n e^t.
// n comes from the shifter trick: adding 1.5 * 2^23 + 127 to y*log2(e) rounds it
// to an integer and leaves n + 127, the biased exponent of 2^n, in the low
// mantissa bits, so `bits << 23` is 2^n. One-step reduction t = y - n ln2 is
// enough here: the rounding of n ln2 is at most |n| * 6e-8 absolute, and it is
// scaled by 2^n, so it never adds more than 2e-8 to an output.

/// 1.5 * 2^23 + 127, see above.
private let shifter: Float = 12_583_039

/// 2^n from the shifted value `y * log2(e) + shifter`; exactly 0 at n = -127.
@inline(__always)
private func powerOfTwo(shifted: SIMD16<Float>) -> SIMD16<Float> {
    unsafeBitCast(unsafeBitCast(shifted, to: SIMD16<UInt32>.self) &<< 23, to: SIMD16<Float>.self)
}

/// `min(v, limit)` that keeps NaN: `pointwiseMin` would turn NaN into `limit`.
/// (A lane loop of `Swift.min` compiles to one `minps` per 4 lanes in some
/// builds but to a scalar branchy loop under whole-module optimization; the
/// vector compare and select here always stays four vector instructions.)
@inline(__always)
private func clamped(_ v: SIMD16<Float>, above limit: Float) -> SIMD16<Float> {
    v.replacing(with: limit, where: v .> limit)
}

/// The bits of `x` without the sign bit, and the sign bit alone.
@inline(__always)
private func magnitudeAndSign(_ x: SIMD16<Float>) -> (magnitude: SIMD16<Float>, sign: SIMD16<UInt32>) {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    return (unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD16<Float>.self), bits & 0x8000_0000)
}

/// `tanh` of 16 lanes, within 1.5e-7 of the exact value for every Float input.
///
/// Odd by construction (`tanhApproximation(-x) == -tanhApproximation(x)` bit
/// for bit, and `-0` gives `-0`); returns `x` for tiny and subnormal `x`; exactly
/// ±1 for `|x| >= 8.4911` and ±infinity; NaN for NaN. Outputs lie in `[-1, 1]`.
///
/// - Complexity: about 30 vector operations and one division per 4 lanes, no branches.
@inline(__always)
package func tanhApproximation(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let (absolute, sign) = magnitudeAndSign(x)
    // tanh(10) is 1 in Float; the clamp keeps 2^n normal.
    let magnitude = clamped(absolute, above: 10)
    // y = -2|x|; fold the -2 into the constants.
    let shifted = magnitude * -2.885_390_1 + shifter
    let n = shifted - shifter
    let t = n * -0.693_147_18 - 2 * magnitude
    // expm1(t) = t + t^2 P(t), P a degree-4 minimax fit (relative error 1.3e-8).
    var p = 0.001_388_251_7 * t + 0.008_366_547_5
    p = p * t + 0.041_667_2
    p = p * t + 0.166_665_43
    p = p * t + 0.499_999_97
    let scale = powerOfTwo(shifted: shifted)
    let em1 = scale * ((p * t) * t + t) + (scale - 1)   // expm1(-2|x|), in (-1, 0]
    let negated = em1 / (2 + em1)                      // -tanh(|x|); +0 at x = ±0
    let bits = (unsafeBitCast(negated, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF) | sign
    return unsafeBitCast(bits, to: SIMD16<Float>.self)
}

/// The logistic sigmoid `1 / (1 + e^-x)` of 16 lanes, within 1e-7 of the exact
/// value for every Float input, and within 4.2e-6 relative for `x` in [-87.68, 0].
///
/// Returns 0.5 for ±0, exactly 0 for `x <= -87.6832` and -infinity, exactly 1
/// for `x >= 17.3287` and +infinity, NaN for NaN. Outputs lie in `[0, 1]`, and for
/// `x >= 0`, `sigmoid(x) == 1 - sigmoid(-x)` bit for bit.
///
/// - Complexity: about 28 vector operations and one division per 4 lanes, no branches.
@inline(__always)
package func sigmoidApproximation(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let absolute = magnitudeAndSign(x).magnitude
    // y = -|x|. At |x| >= 88 the shifter gives n = -127, so 2^n, and with it
    // e^-|x| and sigmoid(-|x|), are exactly 0: the flush to 0 costs nothing.
    let magnitude = clamped(absolute, above: 88)
    let shifted = magnitude * -1.442_695 + shifter
    let n = shifted - shifter
    let t = n * -0.693_147_18 - magnitude
    // e^t = 1 + t + t^2 P(t), P a degree-3 minimax fit (relative error 1.1e-7,
    // which moves sigmoid by at most a quarter of that).
    var p = 0.008_312_478 * t + 0.041_890_55
    p = p * t + 0.166_671_16
    p = p * t + 0.499_992_28
    let scale = powerOfTwo(shifted: shifted)
    let small = scale * ((p * t) * t + t) + scale      // e^-|x|, in [0, 1]
    let lower = small / (1 + small)                    // sigmoid(-|x|), in [0, 0.5]
    return (1 - lower).replacing(with: lower, where: x .< 0)
}

/// `tanh'(x)` from the saved output `y = tanh(x)`: `1 - y^2`.
@inline(__always)
package func tanhDerivative(output y: SIMD16<Float>) -> SIMD16<Float> {
    1 - y * y
}

/// `sigmoid'(x)` from the saved output `y = sigmoid(x)`: `y (1 - y)`.
@inline(__always)
package func sigmoidDerivative(output y: SIMD16<Float>) -> SIMD16<Float> {
    y * (1 - y)
}

// MARK: - Buffers

/// Replaces `p[0 ..< count]` with `tanh` of each element (`tanhApproximation`).
///
/// Overwrites the buffer; the tail past the last multiple of 16 goes through the
/// same vector code via a 16-lane stack tile, so every element gets identical math.
///
/// - Complexity: `O(count)`, no allocation.
package func applyTanh(_ p: UnsafeMutablePointer<Float>, count: Int) {
    applyTanh(from: UnsafePointer(p), to: p, count: count)
}

/// Writes `tanh(source[i])` to `destination[i]` for `i < count`; the buffers
/// may be the same (in place) but must not otherwise overlap.
package func applyTanh(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
    mapBlocks(source, source, destination, count: count) { x, _ in tanhApproximation(x) }
}

/// Replaces `p[0 ..< count]` with the sigmoid of each element
/// (`sigmoidApproximation`); tail handling as in `applyTanh`.
///
/// - Complexity: `O(count)`, no allocation.
package func applySigmoid(_ p: UnsafeMutablePointer<Float>, count: Int) {
    applySigmoid(from: UnsafePointer(p), to: p, count: count)
}

/// Writes `sigmoid(source[i])` to `destination[i]` for `i < count`; the buffers
/// may be the same (in place) but must not otherwise overlap.
package func applySigmoid(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
    mapBlocks(source, source, destination, count: count) { x, _ in sigmoidApproximation(x) }
}

/// Backward of `applyTanh`: multiplies `gradient[i]` in place by `1 - output[i]^2`,
/// where `output` is the saved forward result.
///
/// Overwrites `gradient` (upstream gradient in, gradient of the input out).
package func applyTanhBackward(_ gradient: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int) {
    mapBlocks(UnsafePointer(gradient), output, gradient, count: count) { g, y in g * tanhDerivative(output: y) }
}

/// Backward of `applySigmoid`: multiplies `gradient[i]` in place by
/// `output[i] * (1 - output[i])`, where `output` is the saved forward result.
///
/// Overwrites `gradient` (upstream gradient in, gradient of the input out).
package func applySigmoidBackward(_ gradient: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int) {
    mapBlocks(UnsafePointer(gradient), output, gradient, count: count) { g, y in g * sigmoidDerivative(output: y) }
}

/// `destination[i] = body(a[i], b[i])` in blocks of 16; the last partial block is
/// copied into zero-padded stack tiles so `body` sees whole vectors. Each block is
/// read before it is written, which makes `destination == a` safe.
@inline(__always)
private func mapBlocks(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int,
    _ body: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>
) {
    precondition(count >= 0, "negative element count \(count)")
    let width = SIMD16<Float>.scalarCount
    var i = 0
    while i + width <= count {
        let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
        let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(destination + i).storeBytes(of: body(x, y), as: SIMD16<Float>.self)
        i += width
    }
    let rest = count - i
    guard rest > 0 else { return }
    var x = SIMD16<Float>(), y = SIMD16<Float>()
    for lane in 0 ..< rest {
        x[lane] = a[i + lane]
        y[lane] = b[i + lane]
    }
    let result = body(x, y)
    for lane in 0 ..< rest { destination[i + lane] = result[lane] }
}

// MARK: - Scalar reference twins

/// `tanh(x)` in Double (libm): the definition `tanhApproximation` is tested against.
package func referenceTanh(_ x: Float) -> Double {
    tanh(Double(x))
}

/// `1 / (1 + e^-x)` in Double (libm): the definition `sigmoidApproximation` is tested against.
package func referenceSigmoid(_ x: Float) -> Double {
    1 / (1 + exp(-Double(x)))
}

/// `gradient * (1 - y^2)` in Double: the twin of `applyTanhBackward` for one element.
package func referenceTanhBackward(gradient: Float, output y: Float) -> Double {
    Double(gradient) * (1 - Double(y) * Double(y))
}

/// `gradient * y * (1 - y)` in Double: the twin of `applySigmoidBackward` for one element.
package func referenceSigmoidBackward(gradient: Float, output y: Float) -> Double {
    Double(gradient) * Double(y) * (1 - Double(y))
}

/// `activation` applied to every value of `x`.
func applied(_ activation: Activation, _ x: Tensor) -> Tensor {
    var y = x
    y.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
    return y
}

/// dL/dinput from the output and dL/doutput.
func activationGradient(_ activation: Activation, output: Tensor, gradient: Tensor) throws -> Tensor {
    try RecurrentError.requireShape(gradient, output.dimensions, "Activation output gradient")
    var delta = gradient
    delta.withUnsafeMutableBufferPointer { d in
        output.withUnsafeBufferPointer { activation.backward(output: $0.baseAddress!, gradient: d.baseAddress!, count: d.count) }
    }
    return delta
}

extension Activation {
    /// Applies the activation in place to `count` values.
    ///
    /// ReLU is a branch-free select the compiler vectorizes: a conditional store
    /// compiles to a branch that random pre-activations mispredict about half the
    /// time, which made ReLU cost more than a convolution's product. Same results
    /// bit for bit (NaN and -0 kept).
    func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .linear: break
        case .relu:
            for i in 0 ..< count {
                let v = values[i]
                values[i] = v < 0 ? 0 : v
            }
        case .tanh: applyTanh(values, count: count)
        case .sigmoid: applySigmoid(values, count: count)
        }
    }

    /// Multiplies `gradient` by the activation's derivative, given its `output`.
    func backward(output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .linear: break
        case .relu:
            for i in 0 ..< count {
                let g = gradient[i]
                gradient[i] = output[i] <= 0 ? 0 : g
            }
        case .tanh: for i in 0 ..< count { gradient[i] *= 1 - output[i] * output[i] }
        case .sigmoid: for i in 0 ..< count { gradient[i] *= output[i] * (1 - output[i]) }
        }
    }
}
