import FrameSequencing
import Recurrent

/// `cnnlstm.seed2` of `../shared/BENCHMARKS.md`: B 16, T 10, 64 x 64 x 1 frames
/// through TimeDistributed Conv2D(32, 3x3, relu), MaxPool 2x2, Conv2D(64, 3x3,
/// relu), MaxPool 2x2, Flatten (12544), then LSTM(64) returning the last step,
/// then Dense(1) (Keras defaults: padding valid).
enum ModelWorkloads {
    static func cnnLSTM() -> [Workload] {
        let (batch, steps, side) = (16, 10, 64)
        // 2 * rows * K * N per convolution, 2 * B * T * (I + H) * 4H for the LSTM.
        let frames = Double(batch * steps)
        let convolutions = 2 * frames * (62 * 62 * 9 * 32 + 29 * 29 * 288 * 64)
        let recurrence = 2 * frames * Double((12544 + 64) * 256)
        let flops = convolutions + recurrence + 2 * Double(batch * 64)
        return [false, true].map { train in
            Workload(name: "cnnlstm.seed2" + (train ? ".train" : ".forward"), flops: flops * (train ? 3 : 1),
                     kernels: GEMMKernelPath.active.rawValue) {
                let model = try CNNLSTM(frameHeight: side, frameWidth: side, channels: 1, filters: [32, 64],
                                        hiddenSize: 64, outputs: 1, seed: 2)
                var generator = SeededGenerator(seed: 2)
                let x = try Tensor(shape: [batch, steps, side, side, 1],
                                   scalars: (0 ..< batch * steps * side * side).map { _ in generator.nextUnitFloat() })
                let g = try Tensor(shape: [batch, 1], scalars: (0 ..< batch).map { _ in generator.nextUnitFloat() - 0.5 })
                var gradients = model.zeroGradients()
                if !train { return { _ = try model.forward(x) } }
                return {
                    let (_, cache) = try model.trainingForward(x)
                    _ = try model.backward(outputGradient: g, cache: cache, into: &gradients)
                }
            }
        }
    }
}
