import FrameSequencing

/// How ``Trainer/fit(_:options:callback:)`` runs.
public struct TrainingOptions: Sendable {
    /// Epochs to run in this call (the trainer's ``Trainer/epoch`` counts on from where it is).
    public var epochs: Int
    /// Windows per batch.
    public var batchSize: Int
    /// Seed of each epoch's shuffle (epoch `e` uses `seed + e`, so a resumed run
    /// shuffles as an uninterrupted one); `nil` keeps window order.
    public var shuffleSeed: UInt64?
    /// The last fraction of the windows held out for validation, Keras's
    /// `validation_split` (taken before shuffling; with overlapping windows the
    /// first held-out windows share frames with the last training ones: split the
    /// frames with ``ChronologicalSplit`` for a clean test set).
    public var validationFraction: Double
    /// Applied to the gradients before every step; nil for none.
    public var clipping: GradientClipping?
    /// Stop after this many epochs without a lower validation loss (needs a
    /// validation split); nil to run every epoch.
    public var earlyStoppingPatience: Int?
    /// Draw a progress bar with the loss and rate on standard error.
    public var showsProgress: Bool
    /// Layout of the batches handed to the model.
    public var layout: SequenceLayout

    public init(epochs: Int, batchSize: Int, shuffleSeed: UInt64? = 0, validationFraction: Double = 0,
                clipping: GradientClipping? = nil, earlyStoppingPatience: Int? = nil, showsProgress: Bool = false,
                layout: SequenceLayout = .batchMajor) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.shuffleSeed = shuffleSeed
        self.validationFraction = validationFraction
        self.clipping = clipping
        self.earlyStoppingPatience = earlyStoppingPatience
        self.showsProgress = showsProgress
        self.layout = layout
    }
}

/// One optimizer step or one finished epoch, as the callback sees it.
public enum TrainingEvent: Sendable {
    /// After optimizer step `step` (counted over the whole run) of `epoch`.
    case step(epoch: Int, step: Int, loss: Float, learningRate: Double)
    /// After `epoch` (counted from 1): its mean training loss, validation loss and duration.
    case epoch(EpochSummary)
}

/// A finished epoch.
public struct EpochSummary: Sendable, Equatable {
    /// The epoch, counted from 1 over the whole run.
    public var epoch: Int
    /// Mean of the epoch's batch losses.
    public var trainingLoss: Float
    /// Mean loss over the validation batches, when there is a validation split.
    public var validationLoss: Float?
    /// The learning rate of the epoch's last step.
    public var learningRate: Double
    /// Wall-clock seconds.
    public var seconds: Double
}
