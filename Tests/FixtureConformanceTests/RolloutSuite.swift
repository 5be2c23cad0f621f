import Foundation
import FrameSequencing
import Recurrent
import TestSupport

/// Suite `torch_rollout`: a closed-loop rollout in PyTorch (the model's input
/// at step s >= 1 mixes the true frame and its own prediction by
/// `feeds_truth`), its predictions and the gradients of
/// `L = sum(predictions * grad_output)` for every parameter and the frames.
/// The FC-LSTM is `nn.LSTM` and `nn.Linear`; the ConvLSTM forecaster's cells
/// are Keras ConvLSTM2D cells written with `nn.Conv2d` (weights (4F, C, KH, KW),
/// gates i, f, c, o), its embedding and head 1 x 1 `nn.Conv2d`s.
enum TorchRolloutSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let frames = try fixture.tensor("frames")
        let feeds = try fixture.tensor("feeds_truth")
        switch try fixture.string("model") {
        case "fc_lstm":
            let model = try fcLSTM(fixture)
            return try compareRollout(fixture, model, frames, feeds) { gradients in
                let lstm = try gradients.layer(1, as: LSTMGradients.self).layers[0]
                let dense = try gradients.layer(2, as: Sequential.Gradients.self).layer(0, as: Dense.Gradients.self)
                return [("lstm.weight_ih_l0", lstm.inputWeights), ("lstm.weight_hh_l0", lstm.recurrentWeights),
                        ("lstm.bias_ih_l0", lstm.inputBias), ("lstm.bias_hh_l0", lstm.recurrentBias),
                        ("linear.weight", dense.weight), ("linear.bias", dense.bias)]
            }
        case "convlstm":
            let model = try convLSTM(fixture)
            return try compareRollout(fixture, model, frames, feeds) { gradients in
                let parts = try model.parts(of: gradients)
                var named: [(String, Tensor)] = []
                if let embedding = parts.embedding {
                    named += [("embedding.weight", try torchKernel(embedding.kernel)), ("embedding.bias", embedding.bias!)]
                }
                for (stack, layers) in [("encoder", parts.encoder), ("forecaster", parts.forecaster)] {
                    for (index, layer) in layers.enumerated() {
                        named += [("\(stack).\(index).conv_x.weight", try torchKernel(layer.kernel)),
                                  ("\(stack).\(index).conv_h.weight", try torchKernel(layer.recurrentKernel)),
                                  ("\(stack).\(index).bias", layer.bias)]
                    }
                }
                return named + [("head.weight", try torchKernel(parts.head.kernel)), ("head.bias", parts.head.bias!)]
            }
        case let other:
            throw FixtureError.badMetadata(fixture.path, "model", "\(other ?? "none") (expected fc_lstm or convlstm)")
        }
    }

    /// Runs the rollout and its backward, and compares predictions, every
    /// parameter gradient `named` returns (in PyTorch's layouts) and the frames' gradient.
    private static func compareRollout<Model: ClosedLoopTrainable>(
        _ fixture: FixtureCase, _ model: Model, _ frames: Tensor, _ feeds: Tensor,
        named: (Model.Gradients) throws -> [(String, Tensor)]
    ) throws -> [Comparison] {
        let (predictions, cache) = try model.rolloutTrainingForward(frames, feedsTruth: feeds)
        var gradients = model.zeroGradients()
        let dFrames = try model.rolloutBackward(predictionGradient: try fixture.tensor("grad_output"), cache: cache, into: &gradients)
        var results = [try fixture.check("predictions", predictions, Tolerance.forward),
                       try fixture.check("grad.frames", dFrames, Tolerance.gradient)]
        for (name, gradient) in try named(gradients) {
            results.append(try fixture.check("grad.\(name)", gradient, Tolerance.gradient))
        }
        return results
    }

    /// Flatten, LSTM, Dense with a sigmoid, reshape to the frame.
    private static func fcLSTM(_ fixture: FixtureCase) throws -> CNNLSTMForecaster {
        let frame = try ints(fixture, "frame")
        let names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
        let lstm = try LSTM(pytorchStateDict: Dictionary(uniqueKeysWithValues: try names.map { ($0, try fixture.tensor("lstm." + $0)) }))
        let dense = try Dense(weight: try fixture.tensor("linear.weight"), bias: try fixture.tensor("linear.bias"), activation: .sigmoid)
        return CNNLSTMForecaster(encoder: TimeDistributed(try Sequential([.flatten])), lstm: lstm,
                                 decoder: TimeDistributed(try Sequential([.dense(dense), .reshape(frame)])))
    }

    /// The encoder-forecaster of `filters`, with the 1 x 1 embedding when `embedding` > 0.
    private static func convLSTM(_ fixture: FixtureCase) throws -> ConvLSTMForecaster {
        let filters = try ints(fixture, "filters")
        func cell(_ stack: String, _ index: Int) throws -> ConvLSTM2D {
            try ConvLSTM2D(kernel: try kerasKernel(try fixture.tensor("\(stack).\(index).conv_x.weight")),
                           recurrentKernel: try kerasKernel(try fixture.tensor("\(stack).\(index).conv_h.weight")),
                           bias: try fixture.tensor("\(stack).\(index).bias"), padding: .same)
        }
        let embedding = try fixture.requiredInt("embedding") > 0
            ? try Conv2D(pytorchWeight: try fixture.tensor("embedding.weight"), bias: try fixture.tensor("embedding.bias"))
            : nil
        let head = try Conv2D(pytorchWeight: try fixture.tensor("head.weight"), bias: try fixture.tensor("head.bias"), activation: .sigmoid)
        return try ConvLSTMForecaster(encoder: try filters.indices.map { try cell("encoder", $0) },
                                      forecaster: try filters.indices.map { try cell("forecaster", $0) },
                                      head: head, horizon: 1, embedding: embedding)
    }

    private static func ints(_ fixture: FixtureCase, _ key: String) throws -> [Int] {
        guard let values = try fixture.metadata(key) as? [NSNumber] else {
            throw FixtureError.badMetadata(fixture.path, key, "\(String(describing: try fixture.metadata(key)))")
        }
        return values.map(\.intValue)
    }
}

/// (O, I, KH, KW) -> (KH, KW, I, O), PyTorch's convolution weight in the package's layout.
private func kerasKernel(_ weight: Tensor) throws -> Tensor { try permuted(weight, [2, 3, 1, 0]) }

/// (KH, KW, I, O) -> (O, I, KH, KW).
private func torchKernel(_ kernel: Tensor) throws -> Tensor { try permuted(kernel, [3, 2, 0, 1]) }

/// `tensor` (rank 4) with its axes in the order `axes` (output axis i is input axis axes[i]).
private func permuted(_ tensor: Tensor, _ axes: [Int]) throws -> Tensor {
    let d = tensor.dimensions
    let out = axes.map { d[$0] }
    var strides = [Int](repeating: 1, count: 4)
    for i in (0 ..< 3).reversed() { strides[i] = strides[i + 1] * d[i + 1] }
    let source = tensor.scalars
    var values = [Float](repeating: 0, count: source.count)
    var index = 0
    for a in 0 ..< out[0] { for b in 0 ..< out[1] { for c in 0 ..< out[2] { for e in 0 ..< out[3] {
        let position = [a, b, c, e]
        var offset = 0
        for (axis, value) in zip(axes, position) { offset += strides[axis] * value }
        values[index] = source[offset]
        index += 1
    } } } }
    return try Tensor(shape: Shape(out), scalars: values)
}
