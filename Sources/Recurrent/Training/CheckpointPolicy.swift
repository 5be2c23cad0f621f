import Foundation
import FrameSequencing

/// When and where ``Trainer/fit(_:options:callback:)`` saves
/// ``Trainer/checkpoint(metadata:)``, as Keras's and PyTorch Lightning's
/// `ModelCheckpoint` callbacks, as a value.
///
/// ```swift
/// let policy = CheckpointPolicy(path: "run/checkpoint.safetensors", interval: .seconds(600),
///                               metadata: ["model": "convlstm", "filters": "16,16"])
/// try trainer.fit(windows, options: TrainingOptions(epochs: 20, batchSize: 8, checkpoint: policy))
/// // after a crash: a fresh trainer of the same model continues where the file left off
/// try trainer.resume(from: try Checkpoint.read(contentsOf: policy.path))
/// try trainer.fit(windows, options: TrainingOptions(epochs: 20 - trainer.epoch, batchSize: 8, checkpoint: policy))
/// ```
///
/// Every write replaces the file atomically (a crash while writing leaves the
/// previous checkpoint whole) and holds the trainer's exact position, so a run
/// resumed from any of them ends bit for bit as an uninterrupted one. A write
/// that fails stops training with the writer's `fileSystem` error naming the
/// path; the trainer keeps the position it reached.
public struct CheckpointPolicy: Sendable, Equatable {
    /// The checkpoint file; its directory must exist. Each write replaces it.
    public var path: String
    /// Write when an epoch ends (after its validation).
    public var everyEpoch: Bool
    /// Write at the first step boundary once this much wall-clock time has
    /// passed since the fit call began or since the last write (at an epoch's
    /// end too); nil for none. Zero writes after every step. An epoch's last
    /// step leaves the write to the end of the epoch when ``everyEpoch`` is set.
    public var interval: Duration?
    /// The caller's own metadata, stored in every checkpoint (a command line
    /// keeps its model settings there to rebuild the model before resuming).
    /// Keys may not be the checkpoint's own (`format`, `epoch`, `step`,
    /// `optim.*`) or the trainer's (``Checkpoint/TrainerKey``).
    public var metadata: [String: String]

    /// A policy writing to `path` at the end of every epoch and, with an
    /// `interval`, also in between.
    public init(path: String, everyEpoch: Bool = true, interval: Duration? = nil, metadata: [String: String] = [:]) {
        self.path = path
        self.everyEpoch = everyEpoch
        self.interval = interval
        self.metadata = metadata
    }

    /// Refuses a policy that could not write, before any training step.
    ///
    /// - Throws: `invalidArgument` for an empty path, a negative interval, a
    ///   policy that never writes or a reserved metadata key; `fileSystem` when
    ///   the path's directory does not exist or the path is a directory.
    func validate() throws {
        guard !path.isEmpty else {
            throw RecurrentError.invalidArgument(name: "checkpoint path", expected: "a file path", actual: "an empty string")
        }
        if let interval, interval < .zero {
            throw RecurrentError.invalidArgument(name: "checkpoint interval", expected: "a duration >= 0", actual: "\(interval)")
        }
        guard everyEpoch || interval != nil else {
            throw RecurrentError.invalidArgument(name: "checkpoint policy", expected: "everyEpoch or an interval",
                                                 actual: "neither, so it would never write")
        }
        if let key = metadata.keys.sorted().first(where: Checkpoint.isReservedMetadataKey) {
            throw RecurrentError.invalidArgument(
                name: "checkpoint metadata key '\(key)'",
                expected: "a key other than format, epoch, step, optim.* and \(Checkpoint.TrainerKey.allCases.map(\.rawValue).joined(separator: ", "))",
                actual: "a reserved key")
        }
        // A missing directory would only show at the first write, an epoch or an
        // interval later; say so before training.
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.isEmpty ? "." : directory, isDirectory: &isDirectory),
              isDirectory.boolValue else {
            throw FrameSequencingError.fileSystem(path: path, operation: "write a checkpoint to",
                                                  reason: "its directory '\(directory)' does not exist; create it first")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw FrameSequencingError.fileSystem(path: path, operation: "write a checkpoint to",
                                                  reason: "it is a directory; name a file in it")
        }
    }

    /// The interval in seconds, for comparing with elapsed time.
    var intervalSeconds: Double? {
        interval.map { Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18 }
    }
}
