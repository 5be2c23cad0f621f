internal import CFrameKernels
import Foundation
import FrameSequencing
internal import FrameSequencingRuntime

// Adam's and AdamW's update on parameters, gradients and moments the optimizer
// has validated: the element rule, its C and Swift loops, and the Trainer's
// check before a step; the one place their pointers are taken.

extension AdamAlgorithm {
    /// The per-step values of the update at step `t` (1 on the first step).
    struct Constants {
        let decayFactor: Float, decay: Float, weight1: Float, beta2: Float, weight2: Float
        let epsilon: Float, negativeStep: Float, correction2Root: Float
        let decoupled: Bool, decays: Bool, weightIsSmall: Bool

        /// The same values for the C kernels.
        func kernelConstants(amsgrad: Bool) -> fsk_adam_constants {
            fsk_adam_constants(decay_factor: decayFactor, decay: decay, weight1: weight1, beta2: beta2, weight2: weight2,
                               epsilon: epsilon, negative_step: negativeStep, correction2_root: correction2Root,
                               decoupled: decoupled ? 1 : 0, decays: decays ? 1 : 0,
                               weight_is_small: weightIsSmall ? 1 : 0, amsgrad: amsgrad ? 1 : 0)
        }

    }

    func constants(step: Int) -> Constants {
        let t = Double(step)
        let stepSize = learningRate / (1 - pow(beta1, t))
        return Constants(
            decayFactor: Float(1 - learningRate * weightDecay), decay: Float(weightDecay), weight1: Float(1 - beta1),
            beta2: Float(beta2), weight2: Float(1 - beta2), epsilon: Float(epsilon), negativeStep: Float(-stepSize),
            correction2Root: Float(pow(1 - pow(beta2, t), 0.5)),   // bias_correction2 ** 0.5
            decoupled: decoupledWeightDecay, decays: weightDecay != 0, weightIsSmall: abs(Float(1 - beta1)) < 0.5)
    }

    /// One element's update, PyTorch's operations in order: the new parameter,
    /// moments and (amsgrad) maximum. The step and the Trainer's check before it
    /// both call this, so the check sees exactly the values the step writes.
    @inline(__always)
    static func element(_ p: Float, _ g: Float, _ m: Float, _ v: Float, _ vMax: Float, amsgrad: Bool,
                        _ k: Constants) -> (p: Float, m: Float, v: Float, vMax: Float) {
        var (p, grad) = (p, g)
        if k.decays {
            if k.decoupled { p = p * k.decayFactor } else { grad = grad + k.decay * p }
        }
        // ATen's lerp: the form whose weight is the smaller one, for accuracy.
        let m = k.weightIsSmall ? m + k.weight1 * (grad - m) : grad - (grad - m) * (1 - k.weight1)
        var v = v * k.beta2
        v = v + k.weight2 * grad * grad
        let vMax = amsgrad ? (vMax > v || vMax.isNaN ? vMax : v) : vMax   // torch.maximum: NaN wins
        // param.addcdiv_(exp_avg, sqrt(v) / sqrt(bias_correction2) + eps, value=-step_size)
        let denominator = squareRoot(amsgrad ? vMax : v) / k.correction2Root + k.epsilon
        return (p + k.negativeStep * m / denominator, m, v, vMax)
    }

    /// The update of every parameter at constants `k`.
    static func applyKernels(parameters: inout [Tensor], gradients: [Tensor], exponentialAverages: inout [Tensor],
                             squaredAverages: inout [Tensor], maximumSquaredAverages: inout [Tensor], amsgrad: Bool,
                             _ k: Constants) {
        for i in parameters.indices {
            gradients[i].withUnsafeBufferPointer { g in
                parameters[i].withUnsafeMutableBufferPointer { p in
                    exponentialAverages[i].withUnsafeMutableBufferPointer { m in
                        squaredAverages[i].withUnsafeMutableBufferPointer { v in
                            if amsgrad {
                                maximumSquaredAverages[i].withUnsafeMutableBufferPointer { vMax in
                                    Self.apply(p, g, m, v, vMax, amsgrad: true, k)
                                }
                            } else {
                                Self.apply(p, g, m, v, v, amsgrad: false, k)   // vMax unused
                            }
                        }
                    }
                }
            }
        }
    }

    /// The update of one parameter in one pass, split over the pool when large:
    /// on the C paths their vector kernels (CFrameKernelsOptim.h, the same
    /// Float32 operations, bit for bit), on the Swift path `element` in a loop.
    /// `vMax` is unread without amsgrad.
    static func apply(_ p: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>,
                      _ m: UnsafeMutableBufferPointer<Float>, _ v: UnsafeMutableBufferPointer<Float>,
                      _ vMax: UnsafeMutableBufferPointer<Float>, amsgrad: Bool, _ k: Constants,
                      path: GEMMKernelPath = .active) {
        // One pass reading and writing each array once: two passes (moments, then
        // the parameter) read every array twice.
        let count = p.count
        guard let p = p.baseAddress, let g = g.baseAddress, let m = m.baseAddress, let v = v.baseAddress,
              let vMax = vMax.baseAddress else { return }   // an empty parameter
        if path != .swift {
            return withUnsafePointer(to: k.kernelConstants(amsgrad: amsgrad)) { c in
                forEachElementChunk(count) { _, range in
                    let (j, n) = (range.lowerBound, range.count)
                    if path == .avx512 {
                        fsk_adam_avx512(c, p + j, g + j, m + j, v + j, vMax + j, n)
                    } else {
                        fsk_adam_avx2(c, p + j, g + j, m + j, v + j, vMax + j, n)
                    }
                }
            }
        }
        forEachElementChunk(count) { _, range in
            let k = opaqueCopy(k)   // see opaqueCopy
            if amsgrad {
                for j in range {
                    let r = element(p[j], g[j], m[j], v[j], vMax[j], amsgrad: true, k)
                    (p[j], m[j], v[j], vMax[j]) = (r.p, r.m, r.v, r.vMax)
                }
            } else {
                for j in range {
                    let r = element(p[j], g[j], m[j], v[j], 0, amsgrad: false, k)
                    (p[j], m[j], v[j]) = (r.p, r.m, r.v)
                }
            }
        }
    }

    /// See ``PrecheckedOptimizer/firstNonFiniteUpdate(parameters:gradients:)``.
    func firstNonFiniteUpdate(parameters: [Tensor], gradients: [Tensor]) throws -> NonFiniteUpdate? {
        try validate(parameters: parameters, gradients: gradients)
        let k = constants(step: stepCount + 1)
        for i in parameters.indices {
            // Before the first step the moments are zeros, as the step creates them.
            let zeros = exponentialAverages.isEmpty ? try Tensor(shape: parameters[i].shape) : nil
            let m = zeros ?? exponentialAverages[i], v = zeros ?? squaredAverages[i]
            let vMax = amsgrad ? zeros ?? maximumSquaredAverages[i] : v
            let found = parameters[i].withUnsafeBufferPointer { p in
                gradients[i].withUnsafeBufferPointer { g in
                    m.withUnsafeBufferPointer { m in
                        v.withUnsafeBufferPointer { v in
                            vMax.withUnsafeBufferPointer { vMax -> NonFiniteUpdate? in
                                let index = amsgrad
                                    ? firstNonFiniteElement(p.count) { range in
                                        let k = opaqueCopy(k)
                                        return firstNonFinite(in: range) { Self.element(p[$0], g[$0], m[$0], v[$0], vMax[$0], amsgrad: true, k).p }
                                    }
                                    : firstNonFiniteElement(p.count) { range in
                                        let k = opaqueCopy(k)
                                        return firstNonFinite(in: range) { Self.element(p[$0], g[$0], m[$0], v[$0], 0, amsgrad: false, k).p }
                                    }
                                return index.map { j in   // vMax is v without amsgrad
                                    let value = Self.element(p[j], g[j], m[j], v[j], vMax[j], amsgrad: amsgrad, k).p
                                    return NonFiniteUpdate(parameter: i, index: j, value: value)
                                }
                            }
                        }
                    }
                }
            }
            if let found { return found }
        }
        return nil
    }
}
