internal import CFrameKernels
import FrameSequencing
internal import FrameSequencingRuntime

// SGD's update on parameters, gradients and momentum buffers the optimizer has
// validated: the element rule, its C and Swift loops, and the Trainer's check
// before a step; the one place their pointers are taken.

extension SGD {
    /// The values of one step: Float32 hyperparameters and which terms apply.
    struct Constants {
        let decay: Float, mu: Float, keep: Float, negativeRate: Float
        let decays: Bool, usesMomentum: Bool, usesNesterov: Bool, firstBuffers: Bool

        /// The same values for the C kernels.
        var kernelConstants: fsk_sgd_constants {
            fsk_sgd_constants(decay: decay, mu: mu, keep: keep, negative_rate: negativeRate, decays: decays ? 1 : 0,
                              uses_momentum: usesMomentum ? 1 : 0, uses_nesterov: usesNesterov ? 1 : 0,
                              first_buffers: firstBuffers ? 1 : 0)
        }
    }

    func constants(firstBuffers: Bool) -> Constants {
        Constants(decay: Float(weightDecay), mu: Float(momentum), keep: Float(1 - dampening), negativeRate: Float(-learningRate),
                  decays: weightDecay != 0, usesMomentum: momentum != 0, usesNesterov: nesterov, firstBuffers: firstBuffers)
    }

    /// One element's update, PyTorch's operations in order: the new parameter and
    /// momentum buffer (`b` is ignored without momentum and on the first step).
    /// The step and the Trainer's check before it both call this.
    @inline(__always)
    static func element(_ p: Float, _ g: Float, _ b: Float, _ k: Constants) -> (p: Float, b: Float) {
        let d = k.decays ? g + k.decay * p : g
        guard k.usesMomentum else { return (p + k.negativeRate * d, b) }
        // PyTorch: buf = grad.clone() on the first step, else buf.mul_(mu).add_(grad, alpha=1-tau)
        let b = k.firstBuffers ? d : b * k.mu + k.keep * d
        let direction = k.usesNesterov ? d + k.mu * b : b
        return (p + k.negativeRate * direction, b)
    }

    /// The update of every parameter at constants `k`.
    static func applyKernels(parameters: inout [Tensor], gradients: [Tensor], momentumBuffers: inout [Tensor], _ k: Constants) {
        for i in parameters.indices {
            gradients[i].withUnsafeBufferPointer { g in
                parameters[i].withUnsafeMutableBufferPointer { p in
                    if !k.usesMomentum { return Self.apply(p, g, nil, k) }
                    momentumBuffers[i].withUnsafeMutableBufferPointer { b in Self.apply(p, g, b, k) }
                }
            }
        }
    }

    /// The update of one parameter (and its momentum buffer `b`, nil without
    /// momentum) in one pass, split over the pool when large: on the C paths
    /// their vector kernels (CFrameKernelsOptim.h, bit for bit the same), on
    /// the Swift path `element` in a loop.
    static func apply(_ p: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>,
                      _ b: UnsafeMutableBufferPointer<Float>?, _ k: Constants, path: GEMMKernelPath = .active) {
        let count = p.count
        guard let p = p.baseAddress, let g = g.baseAddress else { return }   // an empty parameter
        let b = b?.baseAddress
        precondition(b != nil || !k.usesMomentum, "SGD.apply: momentum without a buffer")
        if path != .swift {
            return withUnsafePointer(to: k.kernelConstants) { c in
                forEachElementChunk(count) { _, range in
                    let (j, n) = (range.lowerBound, range.count)
                    if path == .avx512 {
                        fsk_sgd_avx512(c, p + j, g + j, b.map { $0 + j }, n)
                    } else {
                        fsk_sgd_avx2(c, p + j, g + j, b.map { $0 + j }, n)
                    }
                }
            }
        }
        guard let b else {
            return forEachElementChunk(count) { _, range in
                let k = opaqueCopy(k)   // see opaqueCopy
                for j in range { p[j] = Self.element(p[j], g[j], 0, k).p }
            }
        }
        forEachElementChunk(count) { _, range in
            let k = opaqueCopy(k)
            for j in range { (p[j], b[j]) = Self.element(p[j], g[j], b[j], k) }
        }
    }
}

extension SGD: PrecheckedOptimizer {
    /// See ``PrecheckedOptimizer/firstNonFiniteUpdate(parameters:gradients:)``.
    func firstNonFiniteUpdate(parameters: [Tensor], gradients: [Tensor]) throws -> NonFiniteUpdate? {
        try validateStep("SGD", learningRate: learningRate, parameters: parameters, gradients: gradients,
                         state: [momentumBuffers])
        let k = constants(firstBuffers: momentum != 0 && momentumBuffers.isEmpty)
        for i in parameters.indices {
            let buffer = k.usesMomentum && !k.firstBuffers ? momentumBuffers[i] : gradients[i]   // unread otherwise
            let found = parameters[i].withUnsafeBufferPointer { p in
                gradients[i].withUnsafeBufferPointer { g in
                    buffer.withUnsafeBufferPointer { b in
                        firstNonFiniteElement(p.count) { range in
                            let k = opaqueCopy(k)
                            return firstNonFinite(in: range) { Self.element(p[$0], g[$0], b[$0], k).p }
                        }
                            .map { NonFiniteUpdate(parameter: i, index: $0, value: Self.element(p[$0], g[$0], b[$0], k).p) }
                    }
                }
            }
            if let found { return found }
        }
        return nil
    }
}
