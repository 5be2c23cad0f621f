internal import CFrameKernels
import Foundation
import FrameSequencing
internal import FrameSequencingRuntime

/// The Adam update shared by ``Adam`` and ``AdamW``: PyTorch's
/// `torch.optim.adam._single_tensor_adam`, operation for operation in Float32.
///
/// Per parameter `p` with gradient `g`, at step `t` (1 on the first step):
///
///     p = p (1 - lr lambda)             decoupled (AdamW), when lambda != 0
///     g = g + lambda p                  coupled L2 (Adam), when lambda != 0
///     m = m + (1 - beta1)(g - m)        exp_avg.lerp_(grad, 1 - beta1)
///     v = v beta2 + (1 - beta2) g g     exp_avg_sq
///     v_max = max(v_max, v)             amsgrad only; then used in place of v
///     denom = sqrt(v) / sqrt(1 - beta2^t) + eps
///     p = p - (lr / (1 - beta1^t)) m / denom
///
/// Bias corrections and the step size are computed in Float64 as PyTorch computes
/// them in Python floats, then rounded to Float32 where they meet a tensor.
struct AdamAlgorithm: Sendable {
    /// `"adam"` or `"adamw"`: the prefix of the exported state and of errors.
    let prefix: String
    let decoupledWeightDecay: Bool
    var learningRate: Double
    private(set) var beta1: Double
    private(set) var beta2: Double
    private(set) var epsilon: Double
    private(set) var weightDecay: Double
    private(set) var amsgrad: Bool
    private(set) var stepCount = 0
    /// exp_avg, exp_avg_sq and (amsgrad) max_exp_avg_sq, one per parameter; empty
    /// until the first step.
    private(set) var exponentialAverages: [Tensor] = []
    private(set) var squaredAverages: [Tensor] = []
    private(set) var maximumSquaredAverages: [Tensor] = []

    init(prefix: String, decoupledWeightDecay: Bool, learningRate: Double, betas: (Double, Double), epsilon: Double,
         weightDecay: Double, amsgrad: Bool) throws {
        let name = decoupledWeightDecay ? "AdamW" : "Adam"
        try requireHyperparameter(learningRate, in: 0 ... .greatestFiniteMagnitude, "\(name) learning rate")
        try requireHyperparameter(betas.0, in: 0 ... 1, openAbove: true, "\(name) beta1")
        try requireHyperparameter(betas.1, in: 0 ... 1, openAbove: true, "\(name) beta2")
        try requireHyperparameter(epsilon, in: 0 ... .greatestFiniteMagnitude, "\(name) epsilon")
        try requireHyperparameter(weightDecay, in: 0 ... .greatestFiniteMagnitude, "\(name) weight decay")
        self.prefix = prefix
        self.decoupledWeightDecay = decoupledWeightDecay
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
    }

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

    mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
        try validate(parameters: parameters, gradients: gradients)
        if exponentialAverages.isEmpty && !parameters.isEmpty {
            let zeros = try parameters.map { try Tensor(shape: $0.shape) }
            (exponentialAverages, squaredAverages) = (zeros, zeros)
            if amsgrad { maximumSquaredAverages = zeros }
        }
        stepCount += 1
        let k = constants(step: stepCount)
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

    func validate(parameters: [Tensor], gradients: [Tensor]) throws {
        try validateStep(decoupledWeightDecay ? "AdamW" : "Adam", learningRate: learningRate, parameters: parameters,
                         gradients: gradients, state: [exponentialAverages, squaredAverages, maximumSquaredAverages])
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

    func exportState() -> OptimizerState {
        var state = OptimizerState(scalars: [
            "\(prefix).step": Double(stepCount), "\(prefix).lr": learningRate, "\(prefix).beta1": beta1,
            "\(prefix).beta2": beta2, "\(prefix).eps": epsilon, "\(prefix).weight_decay": weightDecay,
            "\(prefix).amsgrad": amsgrad ? 1 : 0,
        ])
        for (name, list) in [("exp_avg", exponentialAverages), ("exp_avg_sq", squaredAverages),
                             ("max_exp_avg_sq", maximumSquaredAverages)] {
            for (i, tensor) in list.enumerated() { state.tensors["\(prefix).\(name).\(i)"] = tensor }
        }
        return state
    }

    mutating func importState(_ state: OptimizerState) throws {
        let averages = state.indexed("\(prefix).exp_avg"), squares = state.indexed("\(prefix).exp_avg_sq")
        let maxima = state.indexed("\(prefix).max_exp_avg_sq")
        let scalars = ["step", "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"].map { "\(prefix).\($0)" }
        try state.requireOnly(prefix: prefix, scalars: Set(scalars), lists: [
            "\(prefix).exp_avg": averages.count, "\(prefix).exp_avg_sq": squares.count, "\(prefix).max_exp_avg_sq": maxima.count,
        ])
        var restored = try AdamAlgorithm(
            prefix: prefix, decoupledWeightDecay: decoupledWeightDecay, learningRate: state.scalar("\(prefix).lr"),
            betas: (state.scalar("\(prefix).beta1"), state.scalar("\(prefix).beta2")), epsilon: state.scalar("\(prefix).eps"),
            weightDecay: state.scalar("\(prefix).weight_decay"), amsgrad: state.flag("\(prefix).amsgrad"))
        restored.stepCount = try state.count("\(prefix).step")
        let expectedMaxima = restored.amsgrad ? averages.count : 0
        guard squares.count == averages.count, maxima.count == expectedMaxima else {
            throw RecurrentError.invalidArgument(
                name: "optimizer state", expected: "\(averages.count) tensors each of exp_avg, exp_avg_sq"
                    + (restored.amsgrad ? " and max_exp_avg_sq" : " (and none of max_exp_avg_sq without amsgrad)"),
                actual: "\(averages.count), \(squares.count) and \(maxima.count)")
        }
        for i in averages.indices {
            for other in [squares[i]] + (restored.amsgrad ? [maxima[i]] : []) where other.dimensions != averages[i].dimensions {
                throw RecurrentError.shapeMismatch(name: "optimizer state tensors of parameter \(i)",
                                                   expected: ShapeRequirement(exactly: averages[i].dimensions), actual: other.dimensions)
            }
        }
        (restored.exponentialAverages, restored.squaredAverages, restored.maximumSquaredAverages) = (averages, squares, maxima)
        self = restored
    }
}
