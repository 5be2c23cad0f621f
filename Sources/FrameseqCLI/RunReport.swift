import Foundation
import FrameSequencing
import Recurrent

/// A model that forecasts frames as stored: contexts are patched on the way
/// in and forecasts restored (and cropped) on the way out when the model sees
/// patched frames.
struct PatchedForecast {
    var model: any ForecastingModel
    var patch: SpaceToDepth?

    /// `steps` frames (B, steps, H, W, C) forecast closed-loop after `contexts`
    /// (B, T, H, W, C): a ConvLSTM encoder-forecaster forecasts its horizon at
    /// a time (one frame for the default horizon of 1).
    func callAsFunction(_ contexts: Tensor, _ steps: Int) throws -> Tensor {
        func forecast(_ context: Tensor) throws -> Tensor {
            if let convLSTM = model as? ConvLSTMForecaster { return try convLSTM.forecast(context: context, steps: steps) }
            return try model.forecastClosedLoop(context: context, steps: steps)
        }
        guard let patch else { return try forecast(contexts) }
        let d = contexts.dimensions
        return try patch.invert(try forecast(try patch.apply(to: contexts)), height: d[2], width: d[3])
    }
}

/// What a finished run measured, beside the plan's estimates.
struct RunMeasurements {
    var peakResidentBytes: Int
    var history: [EpochSummary]
    var estimatedEpochSeconds: Double?
}

/// The one line printed before training: parameters, the frames the model
/// sees, the batch, the estimated peak memory against the budget, and the
/// minutes per epoch measured on a few steps.
func planLine(_ plan: RunPlan, budget: MemoryBudget, stepSeconds: Double, stepsPerEpoch: Int) -> String {
    let settings = plan.settings, frame = settings.modelFrameShape, stored = settings.frameShape
    let seen = settings.patch > 1
        ? "patch \(settings.patch) (\(stored.height)x\(stored.width)x\(stored.channels) frames seen as "
            + "\(frame.height)x\(frame.width)x\(frame.channels))"
        : "\(stored.height)x\(stored.width)x\(stored.channels) frames"
    return "plan: \(settings.kind.title), \(plan.footprint.parameterCount) parameters, \(seen), batch \(plan.batchSize): "
        + "estimated peak memory \(gibibytes(plan.footprint.peakBytes)) of a \(gibibytes(budget.bytes)) budget, "
        + "\(minutes(stepSeconds * Double(stepsPerEpoch))) per epoch (\(stepsPerEpoch) steps of "
        + String(format: "%.3g s", stepSeconds) + ", measured)"
}

/// A run's memory and time plan beside what the run measured, as
/// `metrics.json` holds it (`plan` of `train`, `models.<model>.plan` of `demo`).
/// Measured figures are absent until measured (a refused plan has none).
struct PlanRecord: Codable, Equatable {
    var model: String
    var parameters: Int
    var patch: Int?
    var batchSize: Int
    var evaluationBatchSize: Int?
    var windows: Int
    var stepsPerEpoch: Int
    var budgetBytes: Int
    var budgetOrigin: String
    var estimatedPeakBytes: Int
    /// `model_state`, `training_step`, `frames`, `batch`, `evaluation`, `runtime`.
    var estimatedPartsBytes: [String: Int]
    /// The process's peak resident memory (`VmHWM`) when the record was made:
    /// in a demo, the peak of every model trained so far.
    var measuredPeakRssBytes: Int?
    var choices: [String]?
    /// A calibration step's seconds times the steps of an epoch.
    var estimatedEpochSeconds: Double?
    /// The mean of the finished epochs' durations.
    var measuredEpochSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case model, parameters, patch, windows, choices
        case batchSize = "batch_size", evaluationBatchSize = "evaluation_batch_size", stepsPerEpoch = "steps_per_epoch"
        case budgetBytes = "budget_bytes", budgetOrigin = "budget_origin", estimatedPeakBytes = "estimated_peak_bytes"
        case estimatedPartsBytes = "estimated_parts_bytes", measuredPeakRssBytes = "measured_peak_rss_bytes"
        case estimatedEpochSeconds = "estimated_epoch_seconds", measuredEpochSeconds = "measured_epoch_seconds"
    }

    /// The plan as settled, before anything is measured.
    init(_ plan: RunPlan, budget: MemoryBudget) {
        let footprint = plan.footprint
        model = plan.settings.kind.rawValue
        parameters = footprint.parameterCount
        patch = plan.settings.patch
        batchSize = plan.batchSize
        evaluationBatchSize = plan.evaluationBatch
        windows = plan.windowCount
        stepsPerEpoch = footprint.stepsPerEpoch
        (budgetBytes, budgetOrigin) = (budget.bytes, budget.origin)
        estimatedPeakBytes = footprint.peakBytes
        estimatedPartsBytes = ["model_state": footprint.modelStateBytes, "training_step": footprint.stepBytes,
                               "frames": footprint.frameBytes, "batch": footprint.batchBytes,
                               "evaluation": footprint.evaluationBytes, "runtime": footprint.runtimeBytes]
        choices = plan.choices
    }

    /// Adds what a run measured: its peak memory now, the calibrated epoch
    /// estimate and the finished epochs' mean duration.
    mutating func record(_ measured: RunMeasurements) {
        measuredPeakRssBytes = measured.peakResidentBytes
        estimatedEpochSeconds = measured.estimatedEpochSeconds
        if !measured.history.isEmpty {
            measuredEpochSeconds = measured.history.map(\.seconds).reduce(0, +) / Double(measured.history.count)
        }
    }
}

extension EpochRecord {
    /// An epoch as the trainer summarized it.
    init(_ summary: EpochSummary) {
        self.init(epoch: summary.epoch, loss: Double(summary.trainingLoss), validationLoss: summary.validationLoss.map(Double.init),
                  learningRate: summary.learningRate, seconds: summary.seconds)
    }
}

/// A model's architecture and training options as the report shows them
/// (`"loss": "bce"`, `"filters": "16,16"`): only what applies to its kind.
func settingsDescription(_ settings: ModelSettings, _ plan: TrainingPlan) -> [String: String] {
    var description = ["loss": plan.loss.rawValue, "epochs": "\(plan.epochs)", "batch": "\(plan.batchSize)",
                       "learning rate": "\(plan.learningRate)", "clip norm": "\(plan.clipNorm)"]
    switch settings.kind {
    case .fcLSTM, .fcGRU, .cnnLSTM: description["hidden units"] = "\(settings.hiddenSize)"
    case .unet: description["bottleneck filters"] = "\(settings.hiddenSize)"
    case .convLSTM: break
    }
    if !settings.kind.isFullyConnected { description["filters"] = settings.filters.map(String.init).joined(separator: ",") }
    if settings.kind == .convLSTM || settings.kind == .unet { description["kernel"] = "\(settings.kernelSize)x\(settings.kernelSize)" }
    if settings.patch > 1 { description["patch"] = "\(settings.patch)" }
    if plan.windowStride > 1 { description["window stride"] = "\(plan.windowStride)" }
    if settings.horizon > 1 { description["horizon"] = "\(settings.horizon)" }
    if let closedLoop = plan.closedLoop {
        description["closed loop"] = "\(closedLoop.horizon) frames, sampling \(closedLoop.sampling)"
            + (closedLoop.reverse ? ", reverse sampling" : "")
    }
    if !plan.augmentation.isNone { description["augmentation"] = plan.augmentation.optionValue }
    return description
}
