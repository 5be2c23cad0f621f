import FrameSequencing

/// What joins the trainers of a data-parallel run: several processes (ranks),
/// each with a copy of the model, each training its share of every batch and
/// averaging the gradients before the update, as PyTorch's
/// `DistributedDataParallel` and Horovod do.
///
/// The core package has no transport of its own; the sibling package
/// `Distributed/` implements this protocol on Open MPI. Set one on
/// ``Trainer/gradientExchange`` and ``Trainer/fit(_:options:callback:)``:
///
/// - cuts every batch of ``TrainingOptions/batchSize`` windows (the global
///   batch, the same shuffled order on every rank) into ``size`` contiguous
///   shares of `ceil(count / size)` windows, and trains share ``rank`` (a rank
///   whose share is empty, in a short last batch, trains nothing that step);
/// - after backward, hands ``combine(_:loss:windows:of:failed:)`` its
///   gradients and loss, weighted by its share of the batch's windows, and
///   continues with the weighted sums over every rank: the gradients and the
///   loss of the whole batch, so clipping, the update and the history are
///   those of one process training batches of that size (up to the order of
///   float sums);
/// - stops every rank with the same error when any rank's step failed;
/// - scores the validation batches by shares too, combining their losses
///   with an empty gradient list.
///
/// Dropout draws its masks per share, so runs with dropout are not equal to
/// one process's; losses weighted by a padding mask are combined by window
/// counts, not by the mask's weights.
public protocol GradientExchange: AnyObject, Sendable {
    /// This process's number, 0 ..< ``size``; rank 0 writes the run's files.
    var rank: Int { get }
    /// The number of processes training together, at least 1.
    var size: Int { get }

    /// The sums over every rank of `gradients` and `loss`, each rank's scaled
    /// by `windows / total` (its share of the batch's windows), and the ranks
    /// whose step `failed` (nothing of theirs is added, and no rank may apply
    /// the step). Every rank calls it once per step, with the same `total`
    /// and tensors of the same shapes, in ``Trainable/namedParameters`` order.
    ///
    /// - Parameters:
    ///   - gradients: This rank's gradients of its share's mean loss (empty
    ///     when only losses are combined, for validation).
    ///   - loss: This rank's mean loss over its share (0 for an empty share).
    ///   - windows: The windows of this rank's share, 0 when it is empty.
    ///   - total: The windows of the whole batch, the same on every rank.
    ///   - failed: Whether this rank's step failed before its gradients were made.
    /// - Returns: The combined gradients (tensors the exchange owns until the
    ///   next call), the combined loss and the failed ranks, in order.
    /// - Throws: the transport's errors (a rank that left the job).
    func combine(_ gradients: [Tensor], loss: Float, windows: Int, of total: Int, failed: Bool) throws -> CombinedStep

    /// Rank 0's `bytes`, on every rank (the argument of the other ranks is
    /// ignored): how the initial parameters, optimizer state and position go
    /// out from rank 0 (``Trainer/synchronizeWithRankZero()``).
    ///
    /// - Parameter bytes: The bytes to send, on rank 0.
    /// - Throws: the transport's errors.
    func broadcastFromRankZero(_ bytes: [UInt8]) throws -> [UInt8]
}

/// The result of ``GradientExchange/combine(_:loss:windows:of:failed:)``.
public struct CombinedStep: Sendable {
    /// The gradients of the whole batch's mean loss.
    public var gradients: [Tensor]
    /// The whole batch's mean loss.
    public var loss: Float
    /// The ranks whose step failed; empty when the step may be applied.
    public var failedRanks: [Int]

    /// A combined step.
    ///
    /// - Parameters:
    ///   - gradients: The gradients of the whole batch's mean loss.
    ///   - loss: The whole batch's mean loss.
    ///   - failedRanks: The ranks whose step failed.
    public init(gradients: [Tensor], loss: Float, failedRanks: [Int]) {
        self.gradients = gradients
        self.loss = loss
        self.failedRanks = failedRanks
    }
}
