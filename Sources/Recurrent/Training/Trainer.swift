import Foundation
import FrameSequencing

/// Fits a model (any ``Layer``) on windows of frames: epochs of seeded shuffled
/// batches, a loss, an optimizer with a learning-rate schedule and gradient
/// clipping, a validation split, early stopping, a callback per step and epoch,
/// and a stop with ``RecurrentError/nonFinite(name:index:value:)`` the first
/// time a batch's inputs or targets, the loss, a gradient or a parameter after
/// the update is NaN or infinite, naming which (the window, the parameter) and
/// the element; the step that found it is not applied.
///
/// ```swift
/// var trainer = try Trainer(model: model, optimizer: try Adam(learningRate: 1e-3), loss: MeanSquaredError(),
///                           schedule: StepDecay.piecewise(dropFactor: 0.2, dropPeriod: 125))
/// let checkpoints = CheckpointPolicy(path: "run.safetensors", interval: .seconds(600))   // and every epoch
/// if FileManager.default.fileExists(atPath: checkpoints.path) {     // a run that was interrupted
///     try trainer.resume(from: try Checkpoint.read(contentsOf: checkpoints.path))
/// }
/// let history = try trainer.fit(windows, options: TrainingOptions(
///     epochs: 20 - trainer.epoch, batchSize: 16, validationFraction: 0.1, clipping: .globalNorm(maxNorm: 1),
///     checkpoint: checkpoints, showsProgress: true))
/// print(trainer.history)     // every epoch of the run, those before the interruption too
/// ```
///
/// Checkpoints hold the exact position (the epoch, the step, the batches done
/// in the unfinished epoch and their loss sum, the history), and each epoch
/// shuffles with `shuffleSeed + epoch`, so a run resumed from any checkpoint,
/// one written inside an epoch too, ends bit for bit as the uninterrupted run.
/// Dropout draws new masks every step, as Keras's and PyTorch's do: each step's
/// ``LayerContext/dropoutSeed`` follows from the step count (``dropoutSeed(step:)``),
/// which checkpoints keep too.
///
/// Targets are the batch's targets, reshaped to the prediction's shape when
/// their element counts agree (a flat next-frame target for a spatial
/// prediction); padded batches weight the loss by their (B, T) mask when the
/// prediction has a timestep axis.
public struct Trainer<Model: Layer, Optimizer: Recurrent.Optimizer>: Sendable {
    /// The model being fitted.
    public var model: Model
    /// Its optimizer.
    public var optimizer: Optimizer
    /// The loss between prediction and target.
    public var loss: any Loss
    /// The learning rate per epoch and step, from ``initialLearningRate``.
    public var schedule: any LearningRateSchedule
    /// The rate the schedule starts from (the optimizer's rate at creation).
    public var initialLearningRate: Double
    /// Completed epochs.
    public internal(set) var epoch = 0
    /// Completed optimizer steps.
    public internal(set) var step = 0
    /// Batches of the unfinished epoch `epoch + 1` already trained: 0 at an
    /// epoch's start, above 0 after a callback stopped ``fit(_:options:callback:)``
    /// inside an epoch, or after ``resume(from:)`` a checkpoint written inside
    /// one; the next fit continues with the batch after them.
    public internal(set) var batchesDoneInEpoch = 0
    /// The sum of those batches' losses (the epoch's mean loss is this sum over
    /// its batch count, once every batch is done).
    public internal(set) var epochLossSum: Double = 0
    /// Wall-clock seconds spent on those batches.
    public internal(set) var epochSeconds: Double = 0
    /// Every finished epoch of the run, in order, as Keras's `History`: kept
    /// across fit calls and restored by ``resume(from:)``.
    public internal(set) var history: [EpochSummary] = []
    /// Training on closed-loop rollouts, set by
    /// ``init(model:optimizer:loss:schedule:closedLoop:)``; nil: one pass of the
    /// model over each window.
    public internal(set) var closedLoop: ClosedLoopTraining?
    /// The rollout's passes for ``closedLoop``, made where the model's type is known.
    var rolloutPass: RolloutPass<Model>?
    /// Data-parallel training: when set, ``fit(_:options:callback:)`` starts
    /// every epoch from rank 0's model, optimizer and position, trains this rank's share of
    /// every batch and combines the gradients and losses of every rank before
    /// each update (see ``GradientExchange``), and scores its share of the
    /// validation batches; only rank 0 writes checkpoints and draws progress.
    /// nil: this process trains alone.
    public var gradientExchange: (any GradientExchange)?

    /// A trainer starting from `model`'s current parameters.
    public init(model: Model, optimizer: Optimizer, loss: any Loss,
                schedule: any LearningRateSchedule = ConstantSchedule()) throws {
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.schedule = schedule
        self.initialLearningRate = optimizer.learningRate
    }

    /// Runs `options.epochs` epochs over `windows` and returns their summaries
    /// (also appended to ``history``).
    ///
    /// Epochs count as in ``TrainingOptions/epochs``: when the trainer is inside
    /// an epoch (``batchesDoneInEpoch`` above 0, after a callback stopped it or
    /// after resuming a checkpoint written inside one), the call first finishes
    /// that epoch with the same shuffled order, skipping the batches done, and
    /// counts it as one. So `epochs: total - trainer.epoch` completes a run
    /// planned for `total`, and one planned for `total` on a fresh trainer is
    /// `epochs: total`, as before. Zero epochs (a run resumed from its last
    /// checkpoint) trains nothing and returns no summary, as Keras's `fit` with
    /// `initial_epoch == epochs`.
    ///
    /// With ``TrainingOptions/checkpoint`` the trainer writes
    /// ``checkpoint(metadata:)`` to the policy's path when each epoch ends and,
    /// with an interval, at the first step boundary after it elapses (before
    /// the step's callback). Without a callback that stops it, a call that
    /// returns normally has run its epochs or stopped early.
    ///
    /// - Throws: `nonFinite` naming the first NaN or infinity in a batch's inputs
    ///   or targets (and the window), the loss, a gradient or a parameter after
    ///   the update (the step is not applied); `invalidArgument` for options out
    ///   of range, windows without targets, a checkpoint policy that cannot
    ///   write, or a position with more batches done than the epoch has (other
    ///   windows or batch size than the checkpointed run's), an augmentation the
    ///   windows cannot take (a transpose of frames that are not square, time
    ///   reversal of targets that do not follow the inputs); `fileSystem` naming
    ///   the path when the policy's directory is missing (before training) or a
    ///   checkpoint cannot be written (training stops there, the trainer keeps
    ///   its position); what the model, loss and optimizer throw; what the
    ///   callback throws.
    @discardableResult
    public mutating func fit(_ windows: FrameWindows, options: TrainingOptions,
                             callback: ((TrainingEvent) throws -> Bool)? = nil) throws -> [EpochSummary] {
        guard options.epochs >= 0 else {
            throw RecurrentError.invalidArgument(name: "epochs", expected: "a whole number >= 0", actual: "\(options.epochs)")
        }
        try RecurrentError.requirePositive(options.batchSize, "batch size")
        guard options.validationFraction >= 0, options.validationFraction < 1 else {
            throw RecurrentError.invalidArgument(name: "validation fraction", expected: "a fraction in 0..<1",
                                                 actual: "\(options.validationFraction)")
        }
        guard windows.hasTargets else {
            throw RecurrentError.invalidArgument(name: "training windows", expected: "windows with targets",
                                                 actual: "windows without a target (set WindowParameters.target)")
        }
        let held = Int((Double(windows.count) * options.validationFraction).rounded())
        guard windows.count - held > 0, options.validationFraction == 0 || held > 0 else {
            throw RecurrentError.invalidArgument(name: "validation fraction", expected: "a split leaving windows on both sides",
                                                 actual: "\(held) of \(windows.count) windows held out")
        }
        if let validation = options.validationWindows {
            guard held == 0 else {
                throw RecurrentError.invalidArgument(name: "validation", expected: "a validation fraction or validation windows",
                                                     actual: "both")
            }
            guard validation.hasTargets, validation.count > 0 else {
                throw RecurrentError.invalidArgument(name: "validation windows", expected: "one or more windows with targets",
                                                     actual: "\(validation.count) windows\(validation.hasTargets ? "" : " without targets")")
            }
        }
        if options.earlyStoppingPatience != nil && held == 0 && options.validationWindows == nil {
            throw RecurrentError.invalidArgument(name: "early stopping", expected: "a validation fraction above 0 or validation windows",
                                                 actual: "no validation split")
        }
        try options.augmentation.validate(for: windows)
        let exchange = gradientExchange, writes = (exchange?.rank ?? 0) == 0
        let checkpointPolicy = writes ? options.checkpoint : nil
        try checkpointPolicy?.validate()
        let trainingRange = 0 ..< windows.count - held
        var summaries: [EpochSummary] = []
        var progress = options.showsProgress && writes ? ProgressBar(lastEpoch: epoch + options.epochs) : nil
        var lastWrite = Date()                  // the interval counts from the call's start
        var remainingInCall: Int?               // batches left to train in this call, for the ETA
        for _ in 0 ..< options.epochs {
            if let patience = options.earlyStoppingPatience, Self.epochsWithoutImprovement(in: history) >= patience { break }
            // Every rank starts the epoch from rank 0's state: the same start however each was made or resumed,
            // and no drift if a transport's sums ever differed in their last bit between ranks.
            try synchronizeWithRankZero()
            let started = Date(), secondsBefore = epochSeconds
            let batches = try windows.batches(of: trainingRange, size: options.batchSize,
                                              shuffleSeed: options.shuffleSeed.map { $0 &+ UInt64(epoch) })
            guard batchesDoneInEpoch <= batches.count else {
                throw RecurrentError.invalidArgument(
                    name: "position in epoch \(epoch + 1)", expected: "at most the epoch's \(batches.count) batches done",
                    actual: "\(batchesDoneInEpoch) (the windows or the batch size differ from the run the checkpoint comes from)")
            }
            var remaining = remainingInCall ?? (batches.count - batchesDoneInEpoch) + (options.epochs - 1) * batches.count
            var buffer = try exchange.map { try batches.makeBuffer(layout: options.layout, shares: $0.size) }
                ?? batches.makeBuffer(layout: options.layout)
            var gradients = model.zeroGradients()
            // The epoch's last rate: its last step's, when a resumed epoch has no step left to run.
            var rate = batchesDoneInEpoch > 0
                ? schedule.learningRate(initial: initialLearningRate, at: SchedulePosition(epoch: epoch, step: step - 1))
                : optimizer.learningRate
            for index in batchesDoneInEpoch ..< batches.count {
                var share: (windows: Int, total: Int)?
                if let exchange {
                    let mine = try batches.windowIndices(ofBatch: index, share: exchange.rank, of: exchange.size).count
                    share = (mine, try batches.windowIndices(ofBatch: index).count)
                    if mine > 0 { try batches.fill(index, share: exchange.rank, of: exchange.size, into: &buffer) }
                } else {
                    try batches.fill(index, into: &buffer)
                }
                if share?.windows != 0 {   // a rank without windows this step has nothing to augment
                    try buffer.augment(options.augmentation, of: windows, pass: epoch, seed: options.shuffleSeed ?? 0)
                }
                rate = schedule.learningRate(initial: initialLearningRate, at: SchedulePosition(epoch: epoch, step: step))
                let value = try trainingStep(share?.windows == 0 ? nil : buffer, share: share, gradients: &gradients,
                                             learningRate: rate, clipping: options.clipping)
                epochLossSum += Double(value)
                batchesDoneInEpoch = index + 1
                let now = Date()
                epochSeconds = secondsBefore + now.timeIntervalSince(started)
                remaining -= 1
                progress?.update(epoch: epoch + 1, batch: index + 1, batches: batches.count,
                                 loss: Float(epochLossSum / Double(index + 1)), learningRate: rate,
                                 epochSeconds: epochSeconds, remainingInCall: remaining, now: now)
                if let policy = checkpointPolicy, let interval = policy.intervalSeconds,
                   !(policy.everyEpoch && index + 1 == batches.count), now.timeIntervalSince(lastWrite) >= interval {
                    try checkpoint(metadata: policy.metadata).write(to: policy.path)
                    lastWrite = Date()
                }
                if let callback, try !callback(.step(epoch: epoch + 1, step: step, loss: value, learningRate: rate)) {
                    progress?.finish()
                    return summaries
                }
            }
            remainingInCall = remaining
            func score(_ windows: FrameWindows, _ range: Range<Int>?) throws -> Float {
                if let exchange {
                    return try evaluateShares(windows, windows: range, batchSize: options.batchSize, layout: options.layout,
                                              exchange: exchange)
                }
                return try evaluate(windows, windows: range, batchSize: options.batchSize, layout: options.layout)
            }
            let validation = held > 0
                ? try score(windows, windows.count - held ..< windows.count)
                : try options.validationWindows.map { try score($0, nil) }
            let summary = EpochSummary(epoch: epoch + 1, trainingLoss: Float(epochLossSum / Double(batches.count)),
                                       validationLoss: validation, learningRate: rate,
                                       seconds: secondsBefore + Date().timeIntervalSince(started))
            (epoch, batchesDoneInEpoch, epochLossSum, epochSeconds) = (epoch + 1, 0, 0, 0)
            history.append(summary)
            summaries.append(summary)
            progress?.finishEpoch(summary, remainingInCall: remaining)
            if let policy = checkpointPolicy, policy.everyEpoch {
                try checkpoint(metadata: policy.metadata).write(to: policy.path)
                lastWrite = Date()
            }
            if let callback, try !callback(.epoch(summary)) { break }
        }
        return summaries
    }

    /// Epochs since the lowest validation loss of `history` (the epochs without
    /// one are skipped): what early stopping compares with its patience.
    static func epochsWithoutImprovement(in history: [EpochSummary]) -> Int {
        var best = Float.infinity, count = 0
        for validation in history.compactMap(\.validationLoss) {
            if validation < best { (best, count) = (validation, 0) } else { count += 1 }
        }
        return count
    }

    /// The dropout seed of training step `step` (0 for the first): distinct for
    /// every step, the same in a resumed run.
    public static func dropoutSeed(step: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: step) &* 0x9E37_79B9_7F4A_7C15 &+ 0xD1B5_4A32_D192_ED03
    }

    /// One optimizer step on `batch`: checks of the inputs and targets, forward,
    /// loss, backward, checks, clipping, and the update with a check of the
    /// parameters it writes. Returns the batch's loss.
    ///
    /// Each check throws `nonFinite` naming where a NaN or infinity first
    /// appears: the batch's inputs or targets (with the window), the loss, a
    /// named gradient, or a named parameter after the update. Nothing of the
    /// step is kept when it throws: the model and optimizer are as before it.
    /// The package's optimizers are asked beforehand whether their update would
    /// make a parameter non-finite (``PrecheckedOptimizer``), which costs one read
    /// of the parameters, gradients and state; any other optimizer's update is
    /// undone from copies of the model and optimizer, which makes the update copy
    /// every tensor it writes.
    ///
    /// With ``gradientExchange``, `batch` is this rank's share of the step's
    /// batch (nil when the share is empty) and `share` its window count and
    /// the batch's; the step goes on with every rank's combined gradients and
    /// loss, and throws on every rank when any rank's share failed.
    mutating func trainingStep(_ batch: WindowBatch?, share: (windows: Int, total: Int)? = nil, gradients: inout Model.Gradients,
                               learningRate: Double, clipping: GradientClipping?) throws -> Float {
        let position = "at epoch \(epoch + 1), step \(step + 1)"
        func shareLossAndGradients(_ batch: WindowBatch) throws -> Float {
            try requireFinite(batch.inputs) {
                "inputs of window \(Self.window(holding: $0, of: batch.inputs, timeMajor: batch.layout == .timeMajor, in: batch)) \(position)"
            }
            if let targets = batch.targets {
                try requireFinite(targets) {
                    "target of window \(Self.window(holding: $0, of: targets, timeMajor: batch.targetsAreTimeMajor, in: batch)) \(position)"
                }
            }
            let context = LayerContext(lengths: batch.mask == nil ? nil : batch.lengths, dropoutSeed: Self.dropoutSeed(step: step))
            return try lossAndGradients(batch, context: context, into: &gradients) { loss in
                guard loss.isFinite else { throw RecurrentError.nonFinite(name: "loss \(position)", index: 0, value: loss) }
            }
        }
        gradients.zero()
        var value: Float = 0, tensors: [Tensor]
        if let exchange = gradientExchange {
            guard let share else {
                throw RecurrentError.invalidArgument(name: "training step", expected: "fit(_:options:callback:) with a gradient exchange",
                                                     actual: "a single batch (trainOnBatch) without the rank's share of the step's batch")
            }
            var failure: (any Error)?
            do {
                if let batch { value = try shareLossAndGradients(batch) }
            } catch {
                failure = error
                gradients.zero()   // whatever a failed backward left must not reach the other ranks' sums
            }
            let combined = try combineShare(exchange, gradients: gradients.tensors, loss: value,
                                            windows: batch == nil ? 0 : share.windows, of: share.total, failure: failure,
                                            what: "step \(position)")
            (tensors, value) = (combined.gradients, combined.loss)
        } else {
            guard let batch else {
                throw RecurrentError.invalidArgument(name: "training step", expected: "a batch", actual: "none")
            }
            value = try shareLossAndGradients(batch)
            tensors = gradients.tensors
        }
        for (index, tensor) in tensors.enumerated() {
            try requireFinite(tensor) { _ in "gradient of '\(parameterName(index))' \(position)" }
        }
        if let clipping { _ = try clipping.apply(to: &tensors) }
        let previousRate = optimizer.learningRate
        optimizer.learningRate = learningRate
        if optimizer is any PrecheckedOptimizer {
            // The package's optimizers tell beforehand whether the step would make a
            // parameter non-finite, so nothing needs copying to undo it. (The cast
            // is a temporary: a bound `as?` copy of the optimizer would share its
            // state arrays, and the step would copy every one it writes.)
            do {
                let refused = try model.withParameters { parameters -> NonFiniteUpdate? in
                    if let refused = try (optimizer as! any PrecheckedOptimizer)
                        .firstNonFiniteUpdate(parameters: parameters, gradients: tensors) {
                        return refused   // withParameters puts the parameters back untouched
                    }
                    try optimizer.step(parameters: &parameters, gradients: tensors)
                    return nil
                }
                if let refused {
                    throw RecurrentError.nonFinite(name: "parameter '\(parameterName(refused.parameter))' after the update \(position)",
                                                   index: refused.index, value: refused.value)
                }
            } catch {
                optimizer.learningRate = previousRate   // the check and the step wrote nothing else
                throw error
            }
        } else {
            // Any other optimizer: kept to undo the update when it makes a parameter
            // non-finite (holding the copies makes the update copy every parameter
            // and state tensor it writes).
            var (previousModel, previousOptimizer) = (model, optimizer)
            previousOptimizer.learningRate = previousRate
            do {
                try model.withParameters { parameters in try optimizer.step(parameters: &parameters, gradients: tensors) }
                for parameter in model.namedParameters {
                    try requireFinite(parameter.tensor) { _ in "parameter '\(parameter.name)' after the update \(position)" }
                }
            } catch {
                (model, optimizer) = (previousModel, previousOptimizer)
                throw error
            }
        }
        step += 1
        return value
    }

    /// The batch's loss, its gradients added into `gradients`: one pass over
    /// the windows, or a closed-loop rollout of each (``closedLoop``).
    /// `check` sees the loss before backward runs.
    func lossAndGradients(_ batch: WindowBatch, context: LayerContext, into gradients: inout Model.Gradients,
                          check: (Float) throws -> Void = { _ in }) throws -> Float {
        if let rolloutPass {
            return try rolloutPass.train(model, batch, step, context, loss, &gradients, check)
        }
        let (output, cache) = try model.trainingForward(batch.inputs, context: context)
        let value = try loss.evaluate(prediction: output, target: try alignedTarget(batch, output), weights: weights(batch, output))
        try check(value.value)
        _ = try model.backward(outputGradient: value.gradient, cache: cache, into: &gradients)
        return value.value
    }

    /// The name of parameter `index`, for error messages only (``Trainable/namedParameters``
    /// builds every name).
    private func parameterName(_ index: Int) -> String {
        model.namedParameters[index].name
    }

    func alignedTarget(_ batch: WindowBatch, _ output: Tensor) throws -> Tensor {
        guard let target = batch.targets else {
            throw RecurrentError.invalidArgument(name: "batch", expected: "targets", actual: "none")
        }
        if target.dimensions != output.dimensions && target.count == output.count {
            return try target.reshaped(to: output.shape)
        }
        return target
    }

    /// The window number of flat element `index` of `tensor`, the batch's inputs
    /// or targets: (T, B, F) or (S, B, F) when `timeMajor`, else batch first
    /// (rows of a targets array, whatever their rank, are batch first).
    private static func window(holding index: Int, of tensor: Tensor, timeMajor: Bool, in batch: WindowBatch) -> Int {
        let entry = timeMajor
            ? (index / tensor.dimensions[2]) % batch.count
            : index / (tensor.count / batch.count)
        return batch.windowIndices[entry]
    }

    func weights(_ batch: WindowBatch, _ output: Tensor) -> Tensor? {
        guard let mask = batch.mask, output.shape.rank >= 2, Array(output.dimensions.prefix(2)) == mask.dimensions else {
            return nil
        }
        return mask
    }
}
