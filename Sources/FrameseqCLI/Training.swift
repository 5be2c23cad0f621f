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
    /// Training on closed-loop rollouts (`--closed-loop K`); nil: one pass per window.
    var closedLoop: ClosedLoopPlan?
    /// Random flips, transpose and time reversal of the training windows (`--augment`).
    var augmentation: WindowAugmentation = .none
}

extension TrainingPlan {
    /// The plan as checkpoint metadata (`train.*` keys), so `--resume` continues it.
    var metadata: [String: String] {
        ["train.context": String(contextLength), "train.epochs": String(epochs), "train.batch_size": String(batchSize),
         "train.learning_rate": "\(learningRate)", "train.clip_norm": "\(clipNorm)",
         "train.window_stride": String(windowStride), "train.seed": String(seed), "train.loss": loss.rawValue]
            .merging(closedLoop?.metadata ?? [:]) { $1 }
            .merging(augmentation.isNone ? [:] : ["train.augment": augmentation.optionValue]) { $1 }
    }

    /// The plan a checkpoint's metadata holds (`showsProgress` as given).
    init(metadata: [String: String], source: String, showsProgress: Bool) throws {
        func value<T>(_ key: String, _ parse: (String) -> T?, _ valid: (T) -> Bool) throws -> T {
            guard let text = metadata[key], let parsed = parse(text), valid(parsed) else {
                throw CLIError.failed("\(source): the checkpoint's metadata has no valid '\(key)' (found "
                    + "\(metadata[key].map { "'\($0)'" } ?? "none")); was it written by `frameseq train`?")
            }
            return parsed
        }
        let positive: (Int) -> Bool = { $0 > 0 }
        self.init(contextLength: try value("train.context", { Int($0) }, positive),
                  epochs: try value("train.epochs", { Int($0) }, positive),
                  batchSize: try value("train.batch_size", { Int($0) }, positive),
                  learningRate: try value("train.learning_rate", { Double($0) }, { $0.isFinite && $0 > 0 }),
                  clipNorm: try value("train.clip_norm", { Double($0) }, { $0.isFinite && $0 > 0 }),
                  windowStride: try value("train.window_stride", { Int($0) }, positive),
                  seed: try value("train.seed", { UInt64($0) }, { _ in true }), showsProgress: showsProgress)
        loss = try value("train.loss", { TrainingLoss(rawValue: $0) }, { _ in true })
        closedLoop = try ClosedLoopPlan(metadata: metadata, source: source)
        // Absent in checkpoints of runs without it (and of versions before it).
        augmentation = try metadata["train.augment"].map { try WindowAugmentation(parsing: $0, option: "\(source): train.augment") }
            ?? .none
    }

    /// What each training window's target is: the K frames after the context
    /// for closed-loop training, else the model's own target.
    func target(for settings: ModelSettings) -> WindowTarget {
        closedLoop.map { .nextFrames(count: $0.horizon) } ?? settings.trainingTarget
    }
}

extension WindowAugmentation {
    /// The symmetries of `--augment LIST`: comma-separated `horizontal`,
    /// `vertical`, `transpose`, `reverse` (time), or `all` or `none`.
    init(parsing text: String, option: String) throws {
        var augmentation = WindowAugmentation.none
        for word in text.split(separator: ",", omittingEmptySubsequences: false) {
            switch word {
            case "horizontal": augmentation.horizontalFlip = true
            case "vertical": augmentation.verticalFlip = true
            case "transpose": augmentation.transpose = true
            case "reverse": augmentation.timeReversal = true
            case "all": augmentation = .all
            case "none" where text == "none": break
            default:
                throw CLIError.usage("\(option): unknown symmetry '\(word)' in '\(text)' (expected a comma-separated list of "
                    + "horizontal, vertical, transpose and reverse, or all, or none)")
            }
        }
        self = augmentation
    }

    /// The `--augment` value that parses back to this.
    var optionValue: String {
        if isNone { return "none" }
        if self == .all { return "all" }
        return [(horizontalFlip, "horizontal"), (verticalFlip, "vertical"), (transpose, "transpose"), (timeReversal, "reverse")]
            .filter(\.0).map(\.1).joined(separator: ",")
    }

    /// Whether it flips or transposes frames (not only time reversal).
    var isSpatial: Bool { horizontalFlip || verticalFlip || transpose }
}

/// A trained model with its checkpoint and how training went.
struct TrainedModel {
    var model: any ForecastingModel
    var checkpoint: Checkpoint
    var seconds: Double
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
/// (the data's scaling, the context length). With `checkpoints`, the run's
/// state is saved as it goes there; with `resuming`, the run continues from
/// that checkpoint (same settings and plan) to the plan's last epoch. A fresh
/// model starts at `mean`, the training frames' per-pixel mean as stored
/// (``initializingOutputPrior(_:mean:)``, patched here too); `validation`'s
/// windows are scored after every epoch.
///
/// `log` records the epochs and step losses as they happen, so they are there
/// when training throws. Under ``Interruption/watch(_:)``, a SIGINT stops
/// training at the next step boundary: the model returned is the one reached,
/// `log.interrupted` is set, and its checkpoint holds that position.
func train(_ settings: ModelSettings, on frames: FrameStack, mean: [Float], validation: FrameStack? = nil,
           plan: TrainingPlan, extraMetadata: [String: String], report: TrainingReport, log: TrainingLog = TrainingLog(),
           checkpoints: CheckpointPolicy? = nil, resuming: Checkpoint? = nil,
           exchange: (any GradientExchange)? = nil) throws -> TrainedModel {
    if plan.augmentation.isSpatial && settings.patching != nil {
        throw CLIError.usage("--augment \(plan.augmentation.optionValue): flips and transposes work on frames as stored, and "
            + "with --patch \(settings.patch) the model sees \(settings.patch) x \(settings.patch) patches as channels; use "
            + "--patch 1 or --augment reverse")
    }
    let parameters = WindowParameters(sequenceLength: plan.contextLength, sequenceStride: plan.windowStride,
                                      target: plan.target(for: settings))
    let seen = try settings.patching.map { try frames.patched($0) } ?? frames
    let windows = try seen.windows(parameters)
    // The held-out frames' windows, scored after every epoch (Keras's validation_data).
    let validationWindows = try validation.map { stack -> FrameWindows in
        var parameters = parameters
        parameters.sequenceStride = 1
        return try (try settings.patching.map { try stack.patched($0) } ?? stack).windows(parameters)
    }.flatMap { $0.count > 0 ? $0 : nil }
    var model = try settings.makeModel()
    if resuming == nil {
        let frame = frames.frameShape
        let seenMean = try settings.patching.map {
            try $0.apply(to: try Tensor(shape: [frame.height, frame.width, frame.channels], scalars: mean)).scalars
        } ?? mean
        model = try initializingOutputPrior(model, mean: seenMean)
    }
    log.parameterCount = model.scalarCount
    report.log("\(settings.kind.title): \(model.scalarCount) parameters, \(windows.count) windows of "
        + "\(plan.contextLength) frames, \(plan.epochs) epochs of batch \(plan.batchSize), \(plan.loss.rawValue) loss")
    let metadata = extraMetadata.merging(settings.metadata) { $1 }.merging(plan.metadata) { $1 }
    var policy = checkpoints
    policy?.metadata.merge(metadata) { $1 }
    return try fit(model, windows: windows, validation: validationWindows, plan: plan, metadata: metadata, report: report, log: log, policy: policy,
                   resuming: resuming, exchange: exchange)
}

private func fit<Model: ForecastingModel>(_ model: Model, windows: FrameWindows, validation: FrameWindows?, plan: TrainingPlan,
                                          metadata: [String: String],
                                          report: TrainingReport, log: TrainingLog, policy: CheckpointPolicy?,
                                          resuming: Checkpoint?, exchange: (any GradientExchange)?) throws -> TrainedModel {
    let batchesPerEpoch = (windows.count + plan.batchSize - 1) / plan.batchSize
    let totalSteps = max(batchesPerEpoch * plan.epochs, 1)
    let warmup = min(max(totalSteps / 20, 1), 50)
    let schedule = try LinearWarmup(startFactor: 0.1, duration: warmup, unit: .step)
        .followed(by: try CosineAnnealing(period: max(totalSteps - warmup, 1), minimum: plan.learningRate / 10, unit: .step),
                  after: warmup, unit: .step)
    var trainer = try plan.closedLoop.map {
        try Trainer(model: model, optimizer: Adam(learningRate: plan.learningRate), loss: plan.loss.loss, schedule: schedule,
                    closedLoop: try $0.options(totalSteps: totalSteps, seed: plan.seed))
    } ?? Trainer(model: model, optimizer: Adam(learningRate: plan.learningRate), loss: plan.loss.loss, schedule: schedule)
    trainer.gradientExchange = exchange
    if let resuming {
        try trainer.resume(from: resuming)
        report.log("resumed from epoch \(trainer.epoch + 1), step \(trainer.step + 1) of \(plan.epochs * batchesPerEpoch)")
    }
    log.epochs = trainer.history
    log.position = (trainer.epoch + 1, trainer.step)
    var options = TrainingOptions(epochs: max(plan.epochs - trainer.epoch, 0), batchSize: plan.batchSize,
                                  shuffleSeed: plan.seed, clipping: .globalNorm(maxNorm: Float(plan.clipNorm)),
                                  checkpoint: policy, showsProgress: plan.showsProgress, layout: .spatial,
                                  validationWindows: validation)
    options.augmentation = plan.augmentation
    if let callback = report.calibrated {
        // A rank's step: its share of the batch (the exchange's time is not in it).
        var share = options
        let ranks = exchange?.size ?? 1
        share.batchSize = (options.batchSize + ranks - 1) / ranks
        let seconds = try trainer.measureStepSeconds(on: windows, options: share)
        callback(seconds, batchesPerEpoch)
        log.estimatedEpochSeconds = seconds * Double(batchesPerEpoch)
    }
    let started = Date(), firstEpoch = trainer.epoch
    do {
        try trainer.fit(windows, options: options) { event in
            switch event {
            case .step(let epoch, let step, let loss, _):
                log.recordStep(step, loss: loss)
                log.position = (epoch, step)
                if Interruption.requested {
                    log.interrupted = true
                    return false
                }
            case .epoch(let summary):
                log.epochs.append(summary)
                log.position = (summary.epoch + 1, log.position.step)
                if report.epochLines {
                    report.log(epochLine(summary, of: plan.epochs, steps: batchesPerEpoch, since: started, first: firstEpoch))
                }
            }
            return true
        }
    } catch {
        log.epochs = trainer.history   // an epoch whose checkpoint failed ended before the callback heard of it
        throw error
    }
    log.epochs = trainer.history
    return TrainedModel(model: trainer.model, checkpoint: trainer.checkpoint(metadata: metadata), seconds: log.seconds)
}

/// `epoch 3/10: loss 0.1234, 2.1 steps/s, 41 s (total 2.1 min, about 4.9 min left)`:
/// `started` is when this process began training, at epoch `first` (0 unless resumed).
func epochLine(_ summary: EpochSummary, of epochs: Int, steps: Int, since started: Date, first: Int = 0) -> String {
    let elapsed = Date().timeIntervalSince(started)
    let left = elapsed / Double(max(summary.epoch - first, 1)) * Double(max(epochs - summary.epoch, 0))
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
