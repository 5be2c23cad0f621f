import Foundation
import FrameSequencing

extension Checkpoint {
    /// The metadata keys a ``Trainer`` stores beside the format's own `epoch`
    /// (finished epochs) and `step` (optimizer steps), so that
    /// ``Trainer/resume(from:)`` continues where the checkpoint was taken,
    /// inside an epoch too. Numbers are written in Swift's shortest round-trip
    /// form and come back bit for bit.
    ///
    /// A checkpoint without them (an older file, or one made with
    /// ``Checkpoint/init(model:optimizerState:epoch:step:metadata:)``) resumes
    /// at the start of epoch `epoch + 1` with an empty history.
    public enum TrainerKey: String, CaseIterable, Sendable {
        /// The rate the schedule starts from (``Trainer/initialLearningRate``): a number >= 0.
        case initialLearningRate = "initial_learning_rate"
        /// Batches of the unfinished epoch `epoch + 1` already trained
        /// (``Trainer/batchesDoneInEpoch``): a whole number from 0 (at an
        /// epoch's start) to the epoch's batch count (every batch trained, the
        /// validation not run yet), never above `step`.
        case batchesDoneInEpoch = "batches_done_in_epoch"
        /// The sum of those batches' losses (``Trainer/epochLossSum``): a
        /// finite number, 0 when no batch is done.
        case epochLossSum = "epoch_loss_sum"
        /// Wall-clock seconds spent in the unfinished epoch (``Trainer/epochSeconds``): a number >= 0.
        case epochSeconds = "epoch_seconds"
        /// The finished epochs (``Trainer/history``): a JSON array of
        /// ``EpochSummary`` objects numbered 1 to `epoch`, non-finite losses as
        /// the strings `"nan"`, `"inf"` and `"-inf"`.
        case history = "history"
    }

    /// Whether caller metadata may not use `key`: the format's keys and the trainer's.
    static func isReservedMetadataKey(_ key: String) -> Bool {
        ["format", "epoch", "step"].contains(key) || key.hasPrefix("optim.") || TrainerKey(rawValue: key) != nil
    }
}

extension Trainer {
    /// A checkpoint of the model, the optimizer and the exact position: the
    /// epoch and step, the batches done in the unfinished epoch with their loss
    /// sum and seconds, the schedule's starting rate and the history of finished
    /// epochs, under the metadata keys of ``Checkpoint/TrainerKey``. The
    /// caller's `metadata` is stored too; the trainer's keys (and the format's
    /// `format`, `epoch`, `step`, `optim.*`) replace any of the same name.
    ///
    /// - Complexity: O(1) for the tensors (they are shared until one is
    ///   written), O(history) for its JSON.
    public func checkpoint(metadata: [String: String] = [:]) -> Checkpoint {
        var metadata = metadata
        metadata[Checkpoint.TrainerKey.initialLearningRate.rawValue] = "\(initialLearningRate)"
        metadata[Checkpoint.TrainerKey.batchesDoneInEpoch.rawValue] = String(batchesDoneInEpoch)
        metadata[Checkpoint.TrainerKey.epochLossSum.rawValue] = "\(epochLossSum)"
        metadata[Checkpoint.TrainerKey.epochSeconds.rawValue] = "\(epochSeconds)"
        metadata[Checkpoint.TrainerKey.history.rawValue] = Self.encodeHistory(history)
        return Checkpoint(model: model, optimizerState: optimizer.exportState(), epoch: epoch, step: step, metadata: metadata)
    }

    /// Continues from `checkpoint`: the model's parameters, the optimizer's
    /// state, the schedule's starting rate, the epoch and step, the position
    /// inside the unfinished epoch and the history, so the next
    /// ``fit(_:options:callback:)`` (with `epochs` the run's total minus
    /// ``epoch``) ends bit for bit as the uninterrupted run: same parameters,
    /// optimizer state and history (but for the seconds).
    ///
    /// - Throws: `missingParameter`, `shapeMismatch` or `invalidArgument` when
    ///   the checkpoint comes from another model (names or shapes); the
    ///   optimizer's errors for another optimizer's state; `invalidArgument`
    ///   named `checkpoint metadata '<key>'` with the expected and the actual
    ///   value for a corrupt or inconsistent ``Checkpoint/TrainerKey`` value.
    ///   The trainer is unchanged on error.
    public mutating func resume(from checkpoint: Checkpoint) throws {
        let position = try TrainerPosition(checkpoint)
        var restored = self
        try checkpoint.restore(into: &restored.model)
        try restored.optimizer.importState(checkpoint.optimizerState)
        restored.initialLearningRate = position.initialLearningRate ?? restored.initialLearningRate
        restored.epoch = checkpoint.epoch
        restored.step = checkpoint.step
        restored.batchesDoneInEpoch = position.batchesDoneInEpoch
        restored.epochLossSum = position.epochLossSum
        restored.epochSeconds = position.epochSeconds
        restored.history = position.history
        self = restored
    }

    static func encodeHistory(_ history: [EpochSummary]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return String(decoding: try encoder.encode(history), as: UTF8.self)
        } catch {
            // Every value is a number or a string and non-finite numbers have a spelling.
            preconditionFailure("encoding the training history failed: \(error)")
        }
    }
}

extension Checkpoint {
    /// The epochs a ``Trainer`` recorded in this checkpoint (``Trainer/history``
    /// as ``Trainer/resume(from:)`` restores it): empty for a checkpoint
    /// without a history.
    ///
    /// - Throws: `invalidArgument` for a corrupt or inconsistent
    ///   ``TrainerKey`` value, as ``Trainer/resume(from:)`` does.
    public func trainingHistory() throws -> [EpochSummary] {
        try TrainerPosition(self).history
    }
}

/// The trainer's position read from a checkpoint's metadata and checked
/// against its epoch and step.
struct TrainerPosition {
    var initialLearningRate: Double?
    var batchesDoneInEpoch = 0
    var epochLossSum: Double = 0
    var epochSeconds: Double = 0
    var history: [EpochSummary] = []

    init(_ checkpoint: Checkpoint) throws {
        typealias Key = Checkpoint.TrainerKey
        func value(_ key: Key) -> String? { checkpoint.metadata[key.rawValue] }
        func invalid(_ key: Key, _ expected: String, _ actual: String) -> RecurrentError {
            .invalidArgument(name: "checkpoint metadata '\(key.rawValue)'", expected: expected, actual: actual)
        }
        if let text = value(.initialLearningRate) {
            guard let rate = Double(text), rate.isFinite, rate >= 0 else {
                throw invalid(.initialLearningRate, "a finite rate >= 0", "'\(text)'")
            }
            initialLearningRate = rate
        }
        if let text = value(.batchesDoneInEpoch) {
            guard let batches = Int(text), batches >= 0, batches <= checkpoint.step else {
                throw invalid(.batchesDoneInEpoch, "a whole number from 0 to the checkpoint's step \(checkpoint.step)", "'\(text)'")
            }
            batchesDoneInEpoch = batches
        }
        if let text = value(.epochLossSum) {
            guard let sum = Double(text), sum.isFinite else {
                throw invalid(.epochLossSum, "a finite number", "'\(text)'")
            }
            guard batchesDoneInEpoch > 0 || sum == 0 else {
                throw invalid(.epochLossSum, "0, as no batch of the epoch is done", "'\(text)'")
            }
            epochLossSum = sum
        } else if batchesDoneInEpoch > 0 {
            throw invalid(.epochLossSum, "the loss sum of the \(batchesDoneInEpoch) batches done", "none")
        }
        if let text = value(.epochSeconds) {
            guard let seconds = Double(text), seconds.isFinite, seconds >= 0 else {
                throw invalid(.epochSeconds, "a finite number >= 0", "'\(text)'")
            }
            epochSeconds = seconds
        }
        if let text = value(.history) {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                            nan: "nan")
            do {
                history = try decoder.decode([EpochSummary].self, from: Data(text.utf8))
            } catch {
                throw invalid(.history, "a JSON array of epoch summaries", "'\(text.prefix(80))' (\(Self.reason(error)))")
            }
            let numbers = history.map(\.epoch)
            guard numbers == Array(stride(from: 1, through: checkpoint.epoch, by: 1)) else {
                let shown = numbers.prefix(8).map(String.init).joined(separator: ", ") + (numbers.count > 8 ? ", ..." : "")
                throw invalid(.history, "\(checkpoint.epoch) summaries numbered 1 to \(checkpoint.epoch) (the checkpoint's epoch)",
                              "\(numbers.count) numbered [\(shown)]")
            }
        }
    }

    /// The decoder's own explanation, without the coding path's type dump.
    private static func reason(_ error: Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted(let context)?, .keyNotFound(_, let context)?, .typeMismatch(_, let context)?,
             .valueNotFound(_, let context)?:
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return (path.isEmpty ? "" : "at \(path): ") + context.debugDescription
        default:
            return "\(error)"
        }
    }
}
