import Foundation
import FrameSequencing
import Recurrent

/// The training loss. Binary cross-entropy suits intensities in 0...1 behind
/// a sigmoid (Shi et al. trained ConvLSTM on Moving MNIST with it): its
/// gradient does not vanish on sparse bright pixels the way the squared
/// error's does. Scores are always reported as MSE.
enum TrainingLoss: String, CaseIterable, Sendable {
    case bce, mse

    var loss: any Loss { self == .bce ? BinaryCrossEntropy() : MeanSquaredError() }
}

/// How a model is trained: Adam on `loss`, global-norm clipping, and a short
/// linear warm-up followed by cosine annealing to a tenth of the rate.
struct TrainingPlan: Sendable {
    var loss: TrainingLoss = .bce
    var contextLength: Int
    var epochs: Int
    var batchSize: Int
    var learningRate: Double
    var clipNorm: Double
    /// Use every `windowStride`-th training window (1: all of them).
    var windowStride: Int
    var seed: UInt64
    var showsProgress: Bool
}

/// A trained model with its checkpoint and how training went.
struct TrainedModel {
    var model: any ForecastingModel
    var checkpoint: Checkpoint
    var seconds: Double
}

/// Trains a fresh model of `settings` on `frames` (the training part of a
/// chronological split) and returns it with a checkpoint whose metadata also
/// records `extraMetadata` (the data's scaling, the context length).
func train(_ settings: ModelSettings, on frames: FrameStack, plan: TrainingPlan,
           extraMetadata: [String: String], log: (String) -> Void) throws -> TrainedModel {
    let parameters = WindowParameters(sequenceLength: plan.contextLength, sequenceStride: plan.windowStride,
                                      target: settings.trainingTarget)
    let windows = try frames.windows(parameters)
    let model = try settings.makeModel()
    log("\(settings.kind.title): \(model.scalarCount) parameters, \(windows.count) windows of "
        + "\(plan.contextLength) frames, \(plan.epochs) epochs of batch \(plan.batchSize), \(plan.loss.rawValue) loss")
    var metadata = extraMetadata.merging(settings.metadata) { $1 }
    metadata["train.context"] = String(plan.contextLength)
    return try fit(model, windows: windows, plan: plan, metadata: metadata)
}

private func fit<Model: ForecastingModel>(_ model: Model, windows: FrameWindows,
                                          plan: TrainingPlan, metadata: [String: String]) throws -> TrainedModel {
    let batchesPerEpoch = (windows.count + plan.batchSize - 1) / plan.batchSize
    let totalSteps = max(batchesPerEpoch * plan.epochs, 1)
    let warmup = min(max(totalSteps / 20, 1), 50)
    let schedule = try LinearWarmup(startFactor: 0.1, duration: warmup, unit: .step)
        .followed(by: try CosineAnnealing(period: max(totalSteps - warmup, 1), minimum: plan.learningRate / 10, unit: .step),
                  after: warmup, unit: .step)
    var trainer = try Trainer(model: model, optimizer: Adam(learningRate: plan.learningRate),
                              loss: plan.loss.loss, schedule: schedule)
    let options = TrainingOptions(epochs: plan.epochs, batchSize: plan.batchSize, shuffleSeed: plan.seed,
                                  clipping: .globalNorm(maxNorm: Float(plan.clipNorm)), showsProgress: plan.showsProgress,
                                  layout: .spatial)
    let started = Date()
    _ = try trainer.fit(windows, options: options)   // the per-epoch summaries: printed while training
    let seconds = Date().timeIntervalSince(started)
    return TrainedModel(model: trainer.model, checkpoint: trainer.checkpoint(metadata: metadata), seconds: seconds)
}
