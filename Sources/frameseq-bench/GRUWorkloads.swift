import FrameSequencing
import Recurrent

/// `gru.*` workloads of `../shared/BENCHMARKS.md`: the `lstm.rows.seed1` and
/// `lstm.stacked` shapes on a GRU (PyTorch's form, resetting after the
/// product), each as `.forward` (inference) and `.train` (forward keeping the
/// cache plus backward to every gradient for `L = sum(output * g)`, no optimizer step).
enum GRUWorkloads {
    static let shapes = [
        LSTMWorkloads.Shape(name: "gru.rows.seed1", batch: 64, timesteps: 28, input: 84, hidden: 128, layers: 1, seed: 1),
        LSTMWorkloads.Shape(name: "gru.stacked", batch: 32, timesteps: 50, input: 256, hidden: 256, layers: 2, seed: 2),
    ]

    static func all() -> [Workload] {
        shapes.flatMap { [workload($0, train: false), workload($0, train: true)] }
    }

    /// Forward FLOPs: 2 * B * T * (I + H) * 3H per layer (I is H's output for upper layers).
    static func forwardFlops(_ s: LSTMWorkloads.Shape) -> Double {
        (0 ..< s.layers).reduce(0) { total, layer in
            let input = layer == 0 ? s.input : s.hidden
            return total + 2 * Double(s.batch * s.timesteps * (input + s.hidden) * 3 * s.hidden)
        }
    }

    static func workload(_ s: LSTMWorkloads.Shape, train: Bool) -> Workload {
        Workload(name: s.name + (train ? ".train" : ".forward"),
                 flops: forwardFlops(s) * (train ? 3 : 1), kernels: GEMMKernelPath.active.rawValue) {
            let gru = try GRU(inputSize: s.input, hiddenSize: s.hidden, layerCount: s.layers, seed: s.seed)
            var generator = SeededGenerator(seed: s.seed)
            let x = try Tensor(shape: [s.batch, s.timesteps, s.input],
                               scalars: (0 ..< s.batch * s.timesteps * s.input).map { _ in generator.nextUnitFloat() - 0.5 })
            let g = try Tensor(shape: [s.batch, s.timesteps, s.hidden],
                               scalars: (0 ..< s.batch * s.timesteps * s.hidden).map { _ in generator.nextUnitFloat() - 0.5 })
            var gradients = gru.zeroGradients()
            if !train { return { _ = try gru.forward(x) } }
            return {
                let (_, cache) = try gru.trainingForward(x)
                _ = try gru.backward(outputGradient: g, cache: cache, into: &gradients)
            }
        }
    }
}
