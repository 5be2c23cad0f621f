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
    /// Every epoch's summary, in order.
    var history: [EpochSummary]
    /// Seconds per step measured before training (nil when not calibrated).
    var calibratedStepSeconds: Double?
}

/// How `train` reports while it runs.
struct TrainingReport {
    /// Prints a line (the command's console).
    var log: (String) -> Void
    /// Called once, before the first step, with the seconds a step took in a
    /// short calibration and the steps of an epoch; nil skips the calibration.
    var calibrated: ((_ stepSeconds: Double, _ stepsPerEpoch: Int) -> Void)?
    /// One line per finished epoch through `log`, for logs that are not a terminal.
    var epochLines: Bool
}

/// Trains a fresh model of `settings` on `frames` (the training part of a
/// chronological split, as stored: patched here when the settings patch) and
/// returns it with a checkpoint whose metadata also records `extraMetadata`
/// (the data's scaling, the context length).
func train(_ settings: ModelSettings, on frames: FrameStack, plan: TrainingPlan,
           extraMetadata: [String: String], report: TrainingReport) throws -> TrainedModel {
    let parameters = WindowParameters(sequenceLength: plan.contextLength, sequenceStride: plan.windowStride,
                                      target: settings.trainingTarget)
    let seen = try settings.patching.map { try frames.patched($0) } ?? frames
    let windows = try seen.windows(parameters)
    let model = try settings.makeModel()
    report.log("\(settings.kind.title): \(model.scalarCount) parameters, \(windows.count) windows of "
        + "\(plan.contextLength) frames, \(plan.epochs) epochs of batch \(plan.batchSize), \(plan.loss.rawValue) loss")
    var metadata = extraMetadata.merging(settings.metadata) { $1 }
    metadata["train.context"] = String(plan.contextLength)
    return try fit(model, windows: windows, plan: plan, metadata: metadata, report: report)
}

private func fit<Model: ForecastingModel>(_ model: Model, windows: FrameWindows, plan: TrainingPlan,
                                          metadata: [String: String], report: TrainingReport) throws -> TrainedModel {
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
    var calibrated: Double?
    if let callback = report.calibrated {
        let seconds = try trainer.measureStepSeconds(on: windows, options: options)
        callback(seconds, batchesPerEpoch)
        calibrated = seconds
    }
    let started = Date()
    let history = try trainer.fit(windows, options: options) { event in
        guard report.epochLines, case .epoch(let summary) = event else { return true }
        report.log(epochLine(summary, of: plan.epochs, steps: batchesPerEpoch, since: started))
        return true
    }
    let seconds = Date().timeIntervalSince(started)
    return TrainedModel(model: trainer.model, checkpoint: trainer.checkpoint(metadata: metadata), seconds: seconds,
                        history: history, calibratedStepSeconds: calibrated)
}

/// `epoch 3/10: loss 0.1234, 2.1 steps/s, 41 s (total 2.1 min, about 4.9 min left)`.
func epochLine(_ summary: EpochSummary, of epochs: Int, steps: Int, since started: Date) -> String {
    let elapsed = Date().timeIntervalSince(started)
    let left = elapsed / Double(summary.epoch) * Double(max(epochs - summary.epoch, 0))
    var line = "epoch \(summary.epoch)/\(epochs): loss \(String(format: "%.4g", summary.trainingLoss))"
    if let validation = summary.validationLoss { line += ", validation \(String(format: "%.4g", validation))" }
    line += String(format: ", %.2f steps/s, %.0f s (total %@, about %@ left)", Double(steps) / max(summary.seconds, 1e-9),
                   summary.seconds, minutes(elapsed), minutes(left))
    return line
}

/// `42 s` or `3.5 min` or `2.1 h`.
func minutes(_ seconds: Double) -> String {
    seconds < 90 ? String(format: "%.0f s", seconds)
        : seconds < 5400 ? String(format: "%.1f min", seconds / 60) : String(format: "%.1f h", seconds / 3600)
}
