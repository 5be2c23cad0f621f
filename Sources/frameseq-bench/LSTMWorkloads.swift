import FrameSequencing
import Recurrent

/// `lstm.*` workloads of `../shared/BENCHMARKS.md`: each shape as `.forward`
/// (inference) and `.train` (forward keeping the cache plus backward to every
/// gradient for `L = sum(output * g)`, no optimizer step).
/// `lstm.stacked.recompute7.train` is that training step with
/// ``Recomputation/keepStatesEvery(_:)`` 7.
enum LSTMWorkloads {
    struct Shape {
        let name: String
        let batch, timesteps, input, hidden, layers: Int
        let seed: UInt64
        var recomputation = Recomputation.none
    }

    static let shapes = [
        Shape(name: "lstm.flat.seed0", batch: 16, timesteps: 10, input: 4096, hidden: 256, layers: 1, seed: 0),
        Shape(name: "lstm.rows.seed1", batch: 64, timesteps: 28, input: 84, hidden: 128, layers: 1, seed: 1),
        Shape(name: "lstm.stacked", batch: 32, timesteps: 50, input: 256, hidden: 256, layers: 2, seed: 2),
    ]

    static func all() -> [Workload] {
        shapes.flatMap { [workload($0, train: false), workload($0, train: true)] }
            + [workload(Shape(name: "lstm.stacked.recompute7", batch: 32, timesteps: 50, input: 256, hidden: 256, layers: 2,
                              seed: 2, recomputation: .keepStatesEvery(7)), train: true)]
    }

    /// Forward FLOPs: 2 * B * T * (I + H) * 4H per layer (I is H's output for upper layers).
    static func forwardFlops(_ s: Shape) -> Double {
        (0 ..< s.layers).reduce(0) { total, layer in
            let input = layer == 0 ? s.input : s.hidden
            return total + 2 * Double(s.batch * s.timesteps * (input + s.hidden) * 4 * s.hidden)
        }
    }

    static func workload(_ s: Shape, train: Bool) -> Workload {
        Workload(name: s.name + (train ? ".train" : ".forward"),
                 flops: forwardFlops(s) * (train ? 3 : 1), kernels: GEMMKernelPath.active.rawValue) {
            var lstm = try LSTM(inputSize: s.input, hiddenSize: s.hidden, layerCount: s.layers, seed: s.seed)
            lstm.recomputation = s.recomputation
            var generator = SeededGenerator(seed: s.seed)
            let x = try Tensor(shape: [s.batch, s.timesteps, s.input],
                               scalars: (0 ..< s.batch * s.timesteps * s.input).map { _ in generator.nextUnitFloat() - 0.5 })
            let g = try Tensor(shape: [s.batch, s.timesteps, s.hidden],
                               scalars: (0 ..< s.batch * s.timesteps * s.hidden).map { _ in generator.nextUnitFloat() - 0.5 })
            var gradients = lstm.zeroGradients()
            if !train { return { _ = try lstm.forward(x) } }
            return {
                let (_, cache) = try lstm.trainingForward(x)
                _ = try lstm.backward(outputGradient: g, cache: cache, into: &gradients)
            }
        }
    }
}
