import FrameSequencing

extension Trainer where Model: ClosedLoopTrainable {
    /// A trainer whose every step trains on closed-loop rollouts of the batch's
    /// windows (``ClosedLoopTraining``): the windows' frames (B, T, H, W, C)
    /// and targets (B, K, H, W, C) (`.nextFrames(count: K)`; `.frameAfter` for
    /// K = 1), in the `.spatial` layout, are rolled over as one sequence.
    ///
    /// - Throws: the errors of ``init(model:optimizer:loss:schedule:)``.
    public init(model: Model, optimizer: Optimizer, loss: any Loss, schedule: any LearningRateSchedule = ConstantSchedule(),
                closedLoop: ClosedLoopTraining) throws {
        try self.init(model: model, optimizer: optimizer, loss: loss, schedule: schedule)
        self.closedLoop = closedLoop
        rolloutPass = RolloutPass(closedLoop)
    }
}

/// The training and scoring passes of closed-loop training for one model type.
struct RolloutPass<Model: Layer>: Sendable {
    /// The loss of a batch's rollouts at an optimizer step, its gradients added
    /// into the gradients; the check sees the loss before backward.
    let train: @Sendable (Model, WindowBatch, _ step: Int, LayerContext, any Loss, inout Model.Gradients,
                          (Float) throws -> Void) throws -> Float
    /// The loss of the batch's closed-loop forecasts.
    let evaluate: @Sendable (Model, WindowBatch, any Loss) throws -> Float
}

extension RolloutPass where Model: ClosedLoopTrainable {
    init(_ options: ClosedLoopTraining) {
        train = { model, batch, step, context, loss, gradients, check in
            let (frames, contextLength) = try rolloutFrames(batch)
            let count = frames.dimensions[1]
            let feeds = try options.feedsTruth(batch: batch.count, frames: count, contextLength: contextLength, step: step)
            let (predictions, cache) = try model.rolloutTrainingForward(frames, feedsTruth: feeds, context: context)
            let first = options.lossSteps == .all ? 0 : contextLength - 1
            let value = try loss.evaluate(prediction: try timesteps(predictions, first ..< count - 1),
                                          target: try timesteps(frames, first + 1 ..< count), weights: nil)
            try check(value.value)
            let gradient = first == 0 ? value.gradient : try paddedTimesteps(value.gradient, before: first)
            try model.rolloutBackward(predictionGradient: gradient, cache: cache, into: &gradients)
            return value.value
        }
        evaluate = { model, batch, loss in
            let (frames, contextLength) = try rolloutFrames(batch)
            let count = frames.dimensions[1]
            let mask = try Tensor(shape: [batch.count, count - 2], scalars: (0 ..< batch.count * (count - 2)).map {
                $0 % (count - 2) + 1 < contextLength ? 1 : 0
            })
            let predictions = try model.rollout(frames, feedsTruth: mask)
            return try loss.evaluate(prediction: try timesteps(predictions, contextLength - 1 ..< count - 1),
                                     target: try timesteps(frames, contextLength ..< count), weights: nil).value
        }
    }
}

/// A batch's frames and target frames as one sequence (B, T + K, H, W, C), and T.
private func rolloutFrames(_ batch: WindowBatch) throws -> (frames: Tensor, contextLength: Int) {
    let inputs = batch.inputs
    guard inputs.shape.rank == 5, batch.mask == nil, let targets = batch.targets else {
        throw RecurrentError.invalidArgument(name: "closed-loop training batch",
                                             expected: "full windows of frames (B, T, H, W, C) with target frames (the .spatial layout)",
                                             actual: "inputs \(inputs.dimensions)\(batch.mask == nil ? "" : " with a padding mask")"
                                                 + ", targets \(batch.targets?.dimensions.description ?? "none")")
    }
    let frame = Array(inputs.dimensions.dropFirst(2))
    let future: Tensor
    if targets.dimensions == [inputs.dimensions[0]] + frame {
        future = try targets.reshaped(to: Shape([inputs.dimensions[0], 1] + frame))
    } else {
        future = targets
    }
    guard future.shape.rank == 5, Array(future.dimensions.dropFirst(2)) == frame, future.dimensions[0] == inputs.dimensions[0] else {
        throw RecurrentError.shapeMismatch(name: "closed-loop training targets (batch, K, height, width, channels)",
                                           expected: ShapeRequirement([.size(inputs.dimensions[0]), .any("K")] + frame.map { .size($0) }),
                                           actual: targets.dimensions)
    }
    return (try joinedTimesteps(inputs, future), inputs.dimensions[1])
}

// Sequences (B, T, ...) are rows of T frames: joining and cutting them along
// time is the last-axis concatenation of (B, T * frame) views, one copy.

/// `a` (B, T, ...) then `b` (B, K, ...) along time: (B, T + K, ...).
private func joinedTimesteps(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let batch = a.dimensions[0], frame = Array(a.dimensions.dropFirst(2))
    let rows = try [a, b].map { try $0.reshaped(to: Shape([batch, $0.count / max(batch, 1)])) }
    let steps = a.dimensions[1] + b.dimensions[1]
    return try concatenatedAlongLastAxis(rows).reshaped(to: Shape([batch, steps] + frame))
}

/// Timesteps `range` of (B, T, ...).
private func timesteps(_ x: Tensor, _ range: Range<Int>) throws -> Tensor {
    let batch = x.dimensions[0], steps = x.dimensions[1], frame = Array(x.dimensions.dropFirst(2))
    let per = x.count / max(batch * steps, 1)
    let widths = [range.lowerBound, range.count, steps - range.upperBound].map { $0 * per }
    let parts = try splitAlongLastAxis(try x.reshaped(to: Shape([batch, steps * per])), widths)
    return try parts[1].reshaped(to: Shape([batch, range.count] + frame))
}

/// (B, K, ...) after `before` timesteps of zeros: (B, before + K, ...).
private func paddedTimesteps(_ x: Tensor, before: Int) throws -> Tensor {
    try joinedTimesteps(try Tensor(shape: Shape([x.dimensions[0], before] + x.dimensions.dropFirst(2))), x)
}
