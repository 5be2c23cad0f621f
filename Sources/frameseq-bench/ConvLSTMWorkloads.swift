import FrameSequencing
import Recurrent

/// `convlstm.seed2` of `../shared/BENCHMARKS.md`: ConvLSTM2D(64 filters, 3 x 3,
/// padding same, every timestep returned) on batch 4, timesteps 10, 64 x 64 x 1
/// frames; Keras initializers seeded with 2.
enum ConvLSTMWorkloads {
    static func all() -> [Workload] {
        let (batch, steps, side, channels, filters, taps) = (4, 10, 64, 1, 64, 9)
        // 2 * B * T * H * W * KH * KW * (C + F) * 4F forward; three times that to train.
        let flops = 2 * Double(batch * steps * side * side * taps * (channels + filters) * 4 * filters)
        return [false, true].map { train in
            Workload(name: "convlstm.seed2" + (train ? ".train" : ".forward"), flops: flops * (train ? 3 : 1),
                     kernels: GEMMKernelPath.active.rawValue) {
                let layer = try ConvLSTM2D(inputChannels: channels, filters: filters, kernelSize: (3, 3), padding: .same,
                                           seed: 2)
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
