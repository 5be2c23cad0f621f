import Foundation
import FrameSequencing
import Recurrent

/// A model that forecasts frames as stored: contexts are patched on the way
/// in and forecasts restored (and cropped) on the way out when the model sees
/// patched frames.
struct PatchedForecast {
    var model: any ForecastingModel
    var patch: SpaceToDepth?

    /// `steps` frames (B, steps, H, W, C) forecast closed-loop after `contexts` (B, T, H, W, C).
    func callAsFunction(_ contexts: Tensor, _ steps: Int) throws -> Tensor {
        guard let patch else { return try model.forecastClosedLoop(context: contexts, steps: steps) }
        let d = contexts.dimensions
        let forecast = try model.forecastClosedLoop(context: try patch.apply(to: contexts), steps: steps)
        return try patch.invert(forecast, height: d[2], width: d[3])
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

/// The plan and what the run measured, for `metrics.json`.
func planJSON(_ plan: RunPlan, budget: MemoryBudget, measured: RunMeasurements) -> [String: Any] {
    let footprint = plan.footprint
    var object: [String: Any] = [
        "model": plan.settings.kind.rawValue, "parameters": footprint.parameterCount, "patch": plan.settings.patch,
        "batch_size": plan.batchSize, "evaluation_batch_size": plan.evaluationBatch, "windows": plan.windowCount,
        "steps_per_epoch": footprint.stepsPerEpoch, "budget_bytes": budget.bytes, "budget_origin": budget.origin,
        "estimated_peak_bytes": footprint.peakBytes,
        "estimated_parts_bytes": ["model_state": footprint.modelStateBytes, "training_step": footprint.stepBytes,
                                  "frames": footprint.frameBytes, "batch": footprint.batchBytes,
                                  "evaluation": footprint.evaluationBytes, "runtime": footprint.runtimeBytes],
        "measured_peak_rss_bytes": measured.peakResidentBytes,
        "choices": plan.choices,
    ]
    if let seconds = measured.estimatedEpochSeconds { object["estimated_epoch_seconds"] = seconds }
    if !measured.history.isEmpty {
        object["measured_epoch_seconds"] = measured.history.map(\.seconds).reduce(0, +) / Double(measured.history.count)
    }
    return object
}

/// Each epoch's losses, rate and duration, for `metrics.json`.
func historyJSON(_ history: [EpochSummary]) -> [[String: Any]] {
    history.map { summary in
        var entry: [String: Any] = ["epoch": summary.epoch, "loss": Double(summary.trainingLoss),
                                    "learning_rate": summary.learningRate, "seconds": summary.seconds]
        if let validation = summary.validationLoss { entry["validation_loss"] = Double(validation) }
        return entry
    }
}
