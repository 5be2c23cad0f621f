import Foundation
import FrameSequencing
import Recurrent

/// A next-frame forecaster the commands can train and run: the package's
/// forecasters conform through `ClosedLoopTrainable` (a `Layer` and a
/// `NextFrameForecaster` that trains through its own predictions).
typealias ForecastingModel = ClosedLoopTrainable

/// The encodings the demo compares.
enum ModelKind: String, CaseIterable, Sendable {
    /// Flattened frames into an LSTM, a Dense back to a frame (Srivastava et al.'s FC-LSTM).
    case fcLSTM = "fc_lstm"
    /// The FC-LSTM with a GRU in the LSTM's place (``CNNGRUForecaster``): a
    /// quarter fewer recurrent weights, one state (h) instead of two.
    case fcGRU = "fc_gru"
    /// A Conv2D encoder per frame, an LSTM, a Conv2DTranspose decoder.
    case cnnLSTM = "cnn_lstm"
    /// A U-Net per frame whose encoder stages skip to its decoder, around a
    /// ConvLSTM bottleneck (``UNetForecaster``).
    case unet
    /// Shi et al.'s ConvLSTM encoder-forecaster.
    case convLSTM = "convlstm"

    var title: String {
        switch self {
        case .fcLSTM: return "FC-LSTM"
        case .fcGRU: return "FC-GRU"
        case .cnnLSTM: return "CNN-LSTM"
        case .unet: return "U-Net CNN-LSTM"
        case .convLSTM: return "ConvLSTM"
        }
    }

    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Whether the model reads whole flattened frames (FC-LSTM, FC-GRU): no
    /// convolutions, so no filters and no patch by default (a patch only
    /// reorders the features it flattens).
    var isFullyConnected: Bool { self == .fcLSTM || self == .fcGRU }

    /// Whether `--recompute` applies: the GRU keeps every step's record (it
    /// has no recomputation), the LSTM and ConvLSTM layers can recompute.
    var recomputes: Bool { self != .fcGRU }

    /// Windows per optimizer step when `--batch-size` is not given (the plan
    /// may halve it to fit the budget). The ConvLSTM takes 4, as the demo
    /// does: at 8 (43 steps an epoch on 340 windows) it stays near the mean
    /// frame for most of 10 epochs; at 4, with ``defaultLearningRate``, it
    /// learns the motion sooner (400 frames of 64x64x3 moving digits, 10
    /// epochs, held-out 1-step MSE: 0.65x persistence's at batch 8 and 0.002,
    /// 0.45x at batch 4 and 0.003).
    var defaultBatchSize: Int { self == .convLSTM ? 4 : 8 }

    /// `--hidden` when not given: the LSTMs' and the GRU's units, or the U-Net's bottleneck
    /// ConvLSTM filters (32, as many as its last default stage's; a ConvLSTM's
    /// state on the smallest grid needs far fewer channels than a vector
    /// standing for the whole frame needs units).
    var defaultHiddenSize: Int { self == .unet ? 32 : 256 }

    /// Adam's peak rate when `--learning-rate` is not given: 0.003 for the
    /// convolutional recurrences (the ConvLSTM's and the U-Net's, the demo's),
    /// 0.002 for the LSTMs and the GRU, whose 256-unit input products are less forgiving.
    var defaultLearningRate: Double { self == .convLSTM || self == .unet ? 3e-3 : 2e-3 }
}

/// Everything that fixes a model's architecture. It travels in the
/// checkpoint's metadata, so `frameseq forecast` rebuilds the same network
/// before loading the weights.
struct ModelSettings: Hashable, Sendable {
    var kind: ModelKind
    /// The frames as stored (before patching).
    var frameShape: FrameShape
    /// The space-to-depth block the model sees frames through (1: none).
    var patch = 1
    /// Channels of the ConvLSTM's 1 x 1 frame embedding (0: none).
    var embedding = 0
    /// Recurrent layers keep their states every this many steps and recompute
    /// the rest in backward (0: they keep every step's record).
    var recompute = 0

    /// Frames the ConvLSTM's forecaster runs from the encoder's states in one
    /// pass, trained on that many target frames directly (`--horizon`, Shi et
    /// al.'s setting); 1 for the others.
    var horizon = 1

    /// ``recompute`` as the layers' option.
    var recomputation: Recomputation { recompute > 0 ? .keepStatesEvery(recompute) : .none }
    /// LSTM units (FC-LSTM and CNN-LSTM), GRU units (FC-GRU), or the U-Net's bottleneck ConvLSTM filters.
    var hiddenSize: Int
    /// Conv2D filters per encoder stage (CNN-LSTM, U-Net) or ConvLSTM filters per layer.
    var filters: [Int]
    /// The ConvLSTM kernel's height and width (the ConvLSTM's layers, the U-Net's bottleneck).
    var kernelSize: Int
    var seed: UInt64

    /// The frames the model reads and predicts: `frameShape` patched.
    var modelFrameShape: FrameShape { (try? patching.map { try $0.patchedShape(of: frameShape) }) ?? frameShape }

    /// The space-to-depth transform, or nil without patching.
    var patching: SpaceToDepth? { patch > 1 ? try? SpaceToDepth(blockSize: patch) : nil }

    /// The architecture as checkpoint metadata (`model.*` keys).
    var metadata: [String: String] {
        ["model.kind": kind.rawValue,
         "model.patch": String(patch),
         "model.embedding": String(embedding),
         "model.recompute": String(recompute),
         "model.frame": "\(frameShape.height),\(frameShape.width),\(frameShape.channels)",
         "model.hidden_size": String(hiddenSize),
         "model.filters": filters.map(String.init).joined(separator: ","),
         "model.kernel_size": String(kernelSize),
         "model.horizon": String(horizon),
         "model.seed": String(seed)]
    }

    init(kind: ModelKind, frameShape: FrameShape, hiddenSize: Int, filters: [Int], kernelSize: Int, seed: UInt64) {
        (self.kind, self.frameShape, self.hiddenSize) = (kind, frameShape, hiddenSize)
        (self.filters, self.kernelSize, self.seed) = (filters, kernelSize, seed)
    }

    /// Reads the settings back from a checkpoint written by `frameseq train` or `demo`.
    init(metadata: [String: String], source: String) throws {
        func value(_ key: String) throws -> String {
            guard let text = metadata[key] else {
                throw CLIError.failed("\(source): no '\(key)' in the checkpoint's metadata; "
                    + "was it written by `frameseq train` or `frameseq demo`?")
            }
            return text
        }
        func integers(_ key: String) throws -> [Int] {
            let text = try value(key)
            let numbers = text.split(separator: ",").compactMap { Int($0) }
            guard !numbers.isEmpty, numbers.allSatisfy({ $0 > 0 }) else {
                throw CLIError.failed("\(source): metadata '\(key)' should be positive whole numbers, got '\(text)'")
            }
            return numbers
        }
        guard let kind = ModelKind(rawValue: try value("model.kind")) else {
            throw CLIError.failed("\(source): unknown model kind '\(metadata["model.kind"]!)' (expected one of \(ModelKind.names))")
        }
        let frame = try integers("model.frame")
        guard frame.count == 3 else {
            throw CLIError.failed("\(source): metadata 'model.frame' should be height,width,channels, got '\(metadata["model.frame"]!)'")
        }
        guard let seed = UInt64(try value("model.seed")) else {
            throw CLIError.failed("\(source): metadata 'model.seed' is not a whole number")
        }
        self.init(kind: kind, frameShape: try FrameShape(height: frame[0], width: frame[1], channels: frame[2]),
                  hiddenSize: try integers("model.hidden_size")[0], filters: try integers("model.filters"),
                  kernelSize: try integers("model.kernel_size")[0], seed: seed)
        let optional = [("model.patch", \ModelSettings.patch, 1), ("model.embedding", \ModelSettings.embedding, 0),
                        ("model.recompute", \ModelSettings.recompute, 0), ("model.horizon", \ModelSettings.horizon, 1)]
        for (key, field, minimum) in optional {
            guard let text = metadata[key] else { continue }           // checkpoints from before it have none
            guard let value = Int(text), value >= minimum else {
                throw CLIError.failed("\(source): metadata '\(key)' should be a whole number >= \(minimum), got '\(text)'")
            }
            self[keyPath: field] = value
        }
    }

    /// A freshly initialized (seeded) model of these settings.
    func makeModel() throws -> any ForecastingModel {
        let model = try makeArchitecture()
        guard recompute > 0 else { return model }
        switch model {
        case var convLSTM as ConvLSTMForecaster:
            try convLSTM.setRecomputation(recomputation)
            return convLSTM
        case var forecaster as CNNLSTMForecaster:
            try forecaster.setRecomputation(recomputation)
            return forecaster
        case var unet as UNetForecaster:
            try unet.setRecomputation(recomputation)
            return unet
        case let gru as CNNGRUForecaster:
            // The GRU has no recomputation (`train` refuses --recompute for it);
            // its gradients would be the same either way.
            return gru
        default:
            preconditionFailure("every kind is one of the four forecasters")
        }
    }

    /// The network of these settings, every record kept.
    private func makeArchitecture() throws -> any ForecastingModel {
        let frame = modelFrameShape
        let (height, width, channels) = (frame.height, frame.width, frame.channels)
        switch kind {
        case .fcLSTM:
            // Flatten -> LSTM -> Dense back to H*W*C with a sigmoid -> reshape to the frame.
            return CNNLSTMForecaster(
                encoder: TimeDistributed(try Sequential([.flatten])),
                lstm: try LSTM(inputSize: frame.featureCount, hiddenSize: hiddenSize, seed: seed &+ 100),
                decoder: try fullyConnectedDecoder(frame))
        case .fcGRU:
            // The FC-LSTM with a GRU (PyTorch's) in the LSTM's place.
            return CNNGRUForecaster(
                encoder: TimeDistributed(try Sequential([.flatten])),
                gru: try GRU(inputSize: frame.featureCount, hiddenSize: hiddenSize, seed: seed &+ 100),
                decoder: try fullyConnectedDecoder(frame))
        case .cnnLSTM:
            return try CNNLSTMForecaster(frameHeight: height, frameWidth: width, channels: channels, filters: filters,
                                         hiddenSize: hiddenSize, outputActivation: .sigmoid, seed: seed)
        case .unet:
            return try UNetForecaster(frameHeight: height, frameWidth: width, channels: channels, filters: filters,
                                      bottleneckFilters: hiddenSize, bottleneckKernelSize: (kernelSize, kernelSize),
                                      outputActivation: .sigmoid, seed: seed)
        case .convLSTM:
            return try ConvLSTMForecaster(frameHeight: height, frameWidth: width, channels: channels, filters: filters,
                                          kernelSize: (kernelSize, kernelSize), horizon: horizon, outputActivation: .sigmoid,
                                          embeddingFilters: embedding > 0 ? embedding : nil, seed: seed)
        }
    }

    /// The FC models' decoder: a Dense from the recurrent units back to the
    /// frame's features with a sigmoid, reshaped to the frame.
    private func fullyConnectedDecoder(_ frame: FrameShape) throws -> TimeDistributed {
        TimeDistributed(try Sequential([
            .dense(try Dense(inputSize: hiddenSize, outputSize: frame.featureCount, activation: .sigmoid, seed: seed &+ 200)),
            .reshape([frame.height, frame.width, frame.channels]),
        ]))
    }

    /// The parameter count and one training batch's footprint for model input
    /// `inputDimensions` (B, T, h, w, c), without making the model where its
    /// weights grow with the frame (the FC-LSTM's, FC-GRU's and CNN-LSTM's recurrence and Dense).
    func estimate(inputDimensions: [Int]) throws -> (parameterCount: Int, footprint: ActivationFootprint) {
        let frame = modelFrameShape
        switch kind {
        case .fcLSTM:
            let features = frame.featureCount
            let (batch, steps) = (inputDimensions[0], inputDimensions[1])
            let recurrence = LSTM.estimatedFootprint(inputSize: features, hiddenSize: hiddenSize,
                                                     inputDimensions: [batch, steps, features], recomputation: recomputation)
            let dense = Dense.estimatedFootprint(inputSize: hiddenSize, outputSize: features,
                                                 inputDimensions: recurrence.outputDimensions)
            let footprint = ActivationFootprint.view([batch, steps, features]).then(recurrence).then(dense)
                .then(.view(Array(inputDimensions)))
            return (LSTM.parameterCount(inputSize: features, hiddenSize: hiddenSize)
                        + Dense.parameterCount(inputSize: hiddenSize, outputSize: features), footprint)
        case .fcGRU:
            let features = frame.featureCount
            let (batch, steps) = (inputDimensions[0], inputDimensions[1])
            let recurrence = GRU.estimatedFootprint(inputSize: features, hiddenSize: hiddenSize,
                                                    inputDimensions: [batch, steps, features])
            let dense = Dense.estimatedFootprint(inputSize: hiddenSize, outputSize: features,
                                                 inputDimensions: recurrence.outputDimensions)
            let footprint = ActivationFootprint.view([batch, steps, features]).then(recurrence).then(dense)
                .then(.view(Array(inputDimensions)))
            return (GRU.parameterCount(inputSize: features, hiddenSize: hiddenSize)
                        + Dense.parameterCount(inputSize: hiddenSize, outputSize: features), footprint)
        case .cnnLSTM:
            return try CNNLSTMForecaster.estimatedFootprint(
                frameHeight: frame.height, frameWidth: frame.width, channels: frame.channels, filters: filters,
                hiddenSize: hiddenSize, recomputation: recomputation, inputDimensions: inputDimensions)
        case .convLSTM, .unet:
            // Their weights do not grow with the frame: make it and ask it.
            guard let model = try makeModel() as? any ForecastingModel & FootprintEstimating else {
                preconditionFailure("a ConvLSTM or U-Net kind")
            }
            return (model.scalarCount, try model.activationFootprint(inputDimensions: inputDimensions))
        }
    }

    /// What each training window is paired with: the forecasters that predict
    /// after every step learn from every step's next frame; the ConvLSTM
    /// encoder-forecaster predicts once, after the last.
    var trainingTarget: WindowTarget {
        kind != .convLSTM ? .shifted : horizon > 1 ? .nextFrames(count: horizon) : .frameAfter(steps: 1)
    }
}

// MARK: - Output prior

/// Sets the sigmoid output layer's bias of `model` so that, before any
/// step, it predicts about the training frames' mean: `logit(mean)` per
/// output channel (per feature for the FC models' Dense, whose features are
/// pixels). `mean` is the mean frame the model predicts (patched when the
/// model is), values in 0...1.
///
/// Without it the bias starts at zero (every output 0.5) and the quickest way
/// down from there on dark frames is to saturate the recurrent states into a
/// constant that the head maps to black: a ConvLSTM on 4 x 4 patches of
/// 64x64x3 moving digits sat at the mean frame's loss (0.0982) for all 10
/// epochs that way, with the gates saturated and the gradients gone. Started
/// at the mean, the loss has only the motion left to learn. This is the usual
/// initialization of a sigmoid output to the data's prior (as for classifiers
/// of rare classes). The FC-LSTM's and FC-GRU's Dense head also gets a zero
/// kernel: it starts as the mean-frame baseline itself.
func initializingOutputPrior(_ model: any ForecastingModel, mean: [Float]) throws -> any ForecastingModel {
    func logit(_ p: Float) -> Float {
        let q = min(max(p, 1e-3), 1 - 1e-3)
        return log(q / (1 - q))
    }
    /// The mean of each of `channels` channels of `mean` (channels last).
    func channelPrior(_ channels: Int) throws -> Tensor {
        guard channels > 0, mean.count % channels == 0 else {
            throw CLIError.failed("an output of \(channels) channels for a mean frame of \(mean.count) values")
        }
        var sums = [Double](repeating: 0, count: channels)
        for (index, value) in mean.enumerated() { sums[index % channels] += Double(value) }
        let positions = Double(mean.count / channels)
        return try Tensor(shape: [channels], scalars: sums.map { logit(Float($0 / positions)) })
    }
    switch model {
    case var convLSTM as ConvLSTMForecaster:
        convLSTM.head.bias = try channelPrior(convLSTM.head.filters)
        return convLSTM
    case var unet as UNetForecaster:
        // Its layers are read-only; the bias goes in by name, shape-checked.
        guard unet.outputActivation == .sigmoid, let index = unet.namedParameters.firstIndex(where: { $0.name == "head.bias" }) else {
            return unet
        }
        let prior = try channelPrior(unet.channels)
        try unet.updateParameters { i, parameter in if i == index { parameter = prior } }
        return unet
    case var forecaster as CNNLSTMForecaster:
        guard let decoder = try priorDecoder(forecaster.decoder, mean: mean, logit: logit, channelPrior: channelPrior) else {
            return forecaster
        }
        forecaster.decoder = decoder
        return forecaster
    case var forecaster as CNNGRUForecaster:
        guard let decoder = try priorDecoder(forecaster.decoder, mean: mean, logit: logit, channelPrior: channelPrior) else {
            return forecaster
        }
        forecaster.decoder = decoder
        return forecaster
    default:
        return model
    }
}

/// The decoder of a CNN-LSTM or FC forecaster (LSTM or GRU) with its last
/// sigmoid layer started at the prior, or nil when it ends in neither a
/// sigmoid Conv2DTranspose nor a sigmoid Dense to every feature of `mean`.
private func priorDecoder(_ decoder: TimeDistributed, mean: [Float], logit: (Float) -> Float,
                          channelPrior: (Int) throws -> Tensor) throws -> TimeDistributed? {
    var decoder = decoder
    var layers = decoder.model.layers
    guard let last = layers.lastIndex(where: { $0 is Conv2DTranspose || $0 is Dense }) else { return nil }
    if var layer = layers[last] as? Conv2DTranspose, layer.activation == .sigmoid {
        layer.bias = try channelPrior(layer.filters)
        layers[last] = layer
    } else if var layer = layers[last] as? Dense, layer.activation == .sigmoid, layer.outputSize == mean.count {
        layer.bias = try Tensor(shape: [mean.count], scalars: mean.map(logit))
        // The FC models' head starts at zero, so the untrained model forecasts the
        // mean frame exactly rather than the mean plus the noise of a random
        // kernel on the recurrent state. Its gradient is not zero (the state is
        // not), and the recurrence's follows from the first step on. Fed its own
        // forecasts, a random head adds that noise at states it never saw
        // (FC-LSTM: 10-step error 1.029x the mean frame's after 4 epochs; 1.013x so).
        layer.weight = Tensor(zerosLike: layer.weight)
        layers[last] = layer
    } else {
        return nil
    }
    decoder.model.layers = layers
    return decoder
}
