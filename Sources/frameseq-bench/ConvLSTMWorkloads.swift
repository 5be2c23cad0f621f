import FrameSequencing
import Recurrent

/// `convlstm.seed2` of `../shared/BENCHMARKS.md`: ConvLSTM2D(64 filters, 3 x 3,
/// padding same, every timestep returned) on batch 4, timesteps 10, 64 x 64 x 1
/// frames; Keras initializers seeded with 2. `convlstm.seed2.recompute2.train`
/// is the training step with ``Recomputation/keepStatesEvery(_:)`` 2 (each
/// workload in a process of its own for its `peak_rss_mb`).
enum ConvLSTMWorkloads {
    static func all() -> [Workload] {
        let (batch, steps, side, channels, filters, taps) = (4, 10, 64, 1, 64, 9)
        // 2 * B * T * H * W * KH * KW * (C + F) * 4F forward; three times that to train.
        let flops = 2 * Double(batch * steps * side * side * taps * (channels + filters) * 4 * filters)
        let variants: [(name: String, train: Bool, recomputation: Recomputation)] = [
            ("convlstm.seed2.forward", false, .none), ("convlstm.seed2.train", true, .none),
            ("convlstm.seed2.recompute2.train", true, .keepStatesEvery(2)),
        ]
        return variants.map { name, train, recomputation in
            Workload(name: name, flops: flops * (train ? 3 : 1), kernels: GEMMKernelPath.active.rawValue) {
                var layer = try ConvLSTM2D(inputChannels: channels, filters: filters, kernelSize: (3, 3), padding: .same,
                                           seed: 2)
                layer.recomputation = recomputation
                var generator = SeededGenerator(seed: 2)
                let x = try Tensor(shape: [batch, steps, side, side, channels],
                                   scalars: (0 ..< batch * steps * side * side * channels).map { _ in generator.nextUnitFloat() })
                let count = batch * steps * side * side * filters
                let g = try Tensor(shape: [batch, steps, side, side, filters],
                                   scalars: (0 ..< count).map { _ in generator.nextUnitFloat() - 0.5 })
                var gradients = layer.zeroGradients()
                if !train { return { _ = try layer.forward(x) } }
                return {
                    let (_, cache) = try layer.trainingForward(x)
                    _ = try layer.backward(outputGradient: g, cache: cache, into: &gradients)
                }
            }
        }
    }
}
