import FrameSequencing

/// How ``Trainer/fit(_:options:callback:)`` runs.
public struct TrainingOptions: Sendable {
    /// Epochs this call finishes, counting the unfinished epoch a stopped or
    /// resumed trainer is inside as one (the trainer's ``Trainer/epoch`` counts
    /// on from where it is). So a run planned for `total` epochs continues with
    /// `total - trainer.epoch` whether its checkpoint was written at an epoch's
    /// end or inside one (0 when it had finished); on a fresh trainer it is the
    /// run's length.
    public var epochs: Int
    /// Windows per batch.
    public var batchSize: Int
    /// Seed of each epoch's shuffle (epoch `e` uses `seed + e`, so a resumed run
    /// shuffles as an uninterrupted one); `nil` keeps window order.
    public var shuffleSeed: UInt64?
    /// The last fraction of the windows held out for validation, Keras's
    /// `validation_split` (taken before shuffling; with overlapping windows the
    /// first held-out windows share frames with the last training ones: split the
    /// frames with `ChronologicalSplit` for a clean test set).
    public var validationFraction: Double
    /// Windows scored after every epoch instead of a split, Keras's
    /// `validation_data`: for example the windows of a held-out test range,
    /// with the training windows' length and target. Only scored (the loss,
    /// no gradients), so training is the same with or without them. Not
    /// together with ``validationFraction``.
    public var validationWindows: FrameWindows?
    /// Applied to the gradients before every step; nil for none.
    public var clipping: GradientClipping?
    /// Stop after this many epochs without a lower validation loss (needs a
    /// validation split or windows); nil to run every epoch. Counted over the trainer's
    /// ``Trainer/history``, across calls and resumes (as Lightning's
    /// `EarlyStopping` restored from a checkpoint), so a resumed run stops where
    /// an uninterrupted one would, and a run that stopped early stays stopped:
    /// a later call with the same patience returns at once.
    public var earlyStoppingPatience: Int?
    /// Where and when to save checkpoints while fitting; nil for none.
    public var checkpoint: CheckpointPolicy?
    /// Draw a progress bar on standard error: the loss, learning rate, batches
    /// per second, and the elapsed time and estimated time left of the epoch and
    /// of the call. Nothing is written when false.
    public var showsProgress: Bool
    /// Layout of the batches handed to the model.
    public var layout: SequenceLayout
    /// Random flips, transpose and time reversal of each training window
    /// (`WindowAugmentation` of FrameSequencing), drawn per window from ``shuffleSeed`` (0 when
    /// nil), the epoch and the window's number, so a resumed or data-parallel
    /// run draws as one uninterrupted process would. Validation windows are
    /// never augmented. Default `.none`.
    public var augmentation: WindowAugmentation = .none

    public init(epochs: Int, batchSize: Int, shuffleSeed: UInt64? = 0, validationFraction: Double = 0,
                clipping: GradientClipping? = nil, earlyStoppingPatience: Int? = nil, checkpoint: CheckpointPolicy? = nil,
                showsProgress: Bool = false, layout: SequenceLayout = .batchMajor, validationWindows: FrameWindows? = nil) {
        self.epochs = epochs
        self.validationWindows = validationWindows
        self.batchSize = batchSize
        self.shuffleSeed = shuffleSeed
        self.validationFraction = validationFraction
        self.clipping = clipping
        self.earlyStoppingPatience = earlyStoppingPatience
        self.checkpoint = checkpoint
        self.showsProgress = showsProgress
        self.layout = layout
    }
}

/// One optimizer step or one finished epoch, as the callback sees it.
public enum TrainingEvent: Sendable {
    /// After optimizer step `step` (counted from 1 over the whole run) of
    /// `epoch`, and after the checkpoint the step's interval called for, so a
    /// callback that stops here leaves a file holding this step.
    case step(epoch: Int, step: Int, loss: Float, learningRate: Double)
    /// After `epoch` (counted from 1): its mean training loss, validation loss and duration.
    case epoch(EpochSummary)
}

/// A finished epoch, Keras's `History` entry. Encodes as a JSON object with
/// keys `epoch`, `training_loss`, `validation_loss` (absent without a split),
/// `learning_rate` and `seconds`; the trainer stores its history so in a
/// checkpoint (``Checkpoint/TrainerKey/history``).
public struct EpochSummary: Sendable, Equatable, Codable {
    /// The epoch, counted from 1 over the whole run.
    public var epoch: Int
    /// Mean of the epoch's batch losses.
    public var trainingLoss: Float
    /// Mean loss over the validation batches, when there is a validation split.
    public var validationLoss: Float?
    /// The learning rate of the epoch's last step.
    public var learningRate: Double
    /// Wall-clock seconds, validation included. An epoch resumed from a
    /// checkpoint counts the time before the checkpoint and after the resume.
    public var seconds: Double

    /// A summary of epoch `epoch` (counted from 1).
    public init(epoch: Int, trainingLoss: Float, validationLoss: Float?, learningRate: Double, seconds: Double) {
        self.epoch = epoch
        self.trainingLoss = trainingLoss
        self.validationLoss = validationLoss
        self.learningRate = learningRate
        self.seconds = seconds
    }

    private enum CodingKeys: String, CodingKey {
        case epoch, trainingLoss = "training_loss", validationLoss = "validation_loss", learningRate = "learning_rate", seconds
    }
}
