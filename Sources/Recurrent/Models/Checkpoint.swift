import FrameSequencing

/// A model's parameters, an optimizer's state and the training position, saved
/// as one safetensors file (written atomically: a crash while saving leaves the
/// previous file whole).
///
/// ```swift
/// try Checkpoint(model: model, optimizerState: optimizer.exportState(), epoch: 12, step: 4_800)
///     .write(to: "run/checkpoint.safetensors")
/// let saved = try Checkpoint.read(contentsOf: "run/checkpoint.safetensors")
/// try saved.restore(into: &model)              // same architecture, any seed
/// try optimizer.importState(saved.optimizerState)
/// ```
///
/// File layout: parameters under `param.<name>` (the model's
/// ``Trainable/namedParameters`` names), the optimizer's state tensors under
/// `optim.<name>`, all Float32; metadata `format` (`frameseq-checkpoint-1`),
/// `epoch`, `step`, the optimizer's scalars as `optim.<name>` (Float64 written
/// in shortest round-trip form, so they come back exactly) and the caller's own keys; a
/// ``Trainer``'s checkpoints add its position (``Checkpoint/TrainerKey``). PyTorch reads it with `safetensors.torch.load_file`.
public struct Checkpoint: Sendable {
    /// Every parameter, by name, in the model's order.
    public var parameters: [(name: String, tensor: Tensor)]
    /// The optimizer's state (empty when there is none).
    public var optimizerState: OptimizerState
    /// Completed epochs.
    public var epoch: Int
    /// Completed optimizer steps.
    public var step: Int
    /// Free-form string metadata kept in the file (keys `format`, `epoch` and
    /// `step` are the checkpoint's own).
    public var metadata: [String: String]

    static let format = "frameseq-checkpoint-1"

    /// A checkpoint of `model`'s current parameters.
    public init(model: some Trainable, optimizerState: OptimizerState = OptimizerState(), epoch: Int, step: Int = 0,
                metadata: [String: String] = [:]) {
        self.parameters = model.namedParameters
        self.optimizerState = optimizerState
        self.epoch = epoch
        self.step = step
        self.metadata = metadata
    }

    /// Writes the checkpoint to `path` atomically.
    ///
    /// - Throws: `fileSystem` when the file cannot be written.
    public func write(to path: String) throws {
        try safeTensors().write(to: path)
    }

    /// The checkpoint as the bytes of the file ``write(to:)`` writes: what a
    /// data-parallel run sends from rank 0 to the others.
    ///
    /// - Throws: `invalidArgument` when a name or the metadata cannot be encoded.
    public func encoded() throws -> [UInt8] {
        try safeTensors().encode()
    }

    private func safeTensors() throws -> SafeTensors {
        var entries = parameters.map { SafeTensors.Entry(name: "param." + $0.name, array: NumericArray($0.tensor)) }
        let state = optimizerState.tensors
        entries += state.keys.sorted().map { SafeTensors.Entry(name: "optim." + $0, array: NumericArray(state[$0]!)) }
        var fileMetadata = metadata
        for (name, value) in optimizerState.scalars { fileMetadata["optim." + name] = "\(value)" }
        fileMetadata["format"] = Self.format
        fileMetadata["epoch"] = String(epoch)
        fileMetadata["step"] = String(step)
        return try SafeTensors(entries, metadata: fileMetadata)
    }

    /// Reads a checkpoint written by ``write(to:)``.
    ///
    /// - Throws: the reader's errors for a missing, truncated or malformed file;
    ///   `invalidArgument` when it is not a checkpoint (no `format`, `epoch` or
    ///   `step` of this format) or holds a tensor outside `param.` and `optim.`.
    public static func read(contentsOf path: String, limits: FileReadLimits = .default) throws -> Checkpoint {
        try checkpoint(in: try SafeTensors.read(contentsOf: path, limits: limits), path: path)
    }

    /// Reads a checkpoint from the bytes ``encoded()`` made.
    ///
    /// - Parameters:
    ///   - bytes: The bytes of a checkpoint file.
    ///   - name: What error messages call them.
    ///   - limits: The reader's limits.
    /// - Throws: as ``read(contentsOf:limits:)``.
    public static func decode(_ bytes: [UInt8], name: String = "<memory>", limits: FileReadLimits = .default) throws -> Checkpoint {
        try checkpoint(in: try SafeTensors.decode(bytes, name: name, limits: limits), path: name)
    }

    private static func checkpoint(in file: SafeTensors, path: String) throws -> Checkpoint {
        guard file.metadata["format"] == format, let epoch = file.metadata["epoch"].flatMap({ Int($0) }),
              let step = file.metadata["step"].flatMap({ Int($0) }), epoch >= 0, step >= 0 else {
            throw RecurrentError.invalidArgument(
                name: "checkpoint \(path)", expected: "metadata format \(format) with a non-negative epoch and step",
                actual: "format \(file.metadata["format"] ?? "none"), epoch \(file.metadata["epoch"] ?? "none"), step \(file.metadata["step"] ?? "none")")
        }
        var parameters: [(name: String, tensor: Tensor)] = []
        var optimizerState = OptimizerState()
        for entry in file.entries {
            if entry.name.hasPrefix("param.") {
                parameters.append((String(entry.name.dropFirst(6)), try entry.array.tensor()))
            } else if entry.name.hasPrefix("optim.") {
                optimizerState.tensors[String(entry.name.dropFirst(6))] = try entry.array.tensor()
            } else {
                throw RecurrentError.invalidArgument(name: "checkpoint \(path) tensor", expected: "a name starting param. or optim.",
                                                     actual: "'\(entry.name)'")
            }
        }
        var metadata = file.metadata
        for key in ["format", "epoch", "step"] { metadata[key] = nil }
        for (key, text) in file.metadata where key.hasPrefix("optim.") {
            guard let value = Double(text) else {
                throw RecurrentError.invalidArgument(name: "checkpoint \(path) metadata '\(key)'", expected: "a number",
                                                     actual: "'\(text)'")
            }
            optimizerState.scalars[String(key.dropFirst(6))] = value
            metadata[key] = nil
        }
        return Checkpoint(parameters: parameters, optimizerState: optimizerState, epoch: epoch, step: step, metadata: metadata)
    }

    private init(parameters: [(name: String, tensor: Tensor)], optimizerState: OptimizerState, epoch: Int, step: Int,
                 metadata: [String: String]) {
        self.parameters = parameters
        self.optimizerState = optimizerState
        self.epoch = epoch
        self.step = step
        self.metadata = metadata
    }

    /// Puts the saved parameters into `model`, which must have the same names
    /// and shapes (the architecture the checkpoint was made from).
    ///
    /// - Throws: `missingParameter` or `shapeMismatch` naming the first
    ///   parameter that does not fit; `invalidArgument` when the checkpoint holds
    ///   parameters the model lacks. The model is unchanged on error.
    public func restore<Model: Trainable>(into model: inout Model) throws {
        let saved = Dictionary(parameters, uniquingKeysWith: { first, _ in first })
        let names = Set(model.namedParameters.map(\.name))
        let extra = saved.keys.filter { !names.contains($0) }.sorted()
        guard extra.isEmpty else {
            throw RecurrentError.invalidArgument(name: "checkpoint parameters", expected: "only the model's parameters",
                                                 actual: "\(extra.count) more, such as '\(extra[0])'")
        }
        var candidate = model
        try candidate.loadParameters(saved)
        model = candidate
    }
}
