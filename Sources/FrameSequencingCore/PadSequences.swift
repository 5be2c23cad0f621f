/// Which end of a sequence padding or truncation applies to. Every call that
/// pads takes it explicitly, as the frameworks disagree: Keras's
/// `pad_sequences` pads and truncates `.pre` by default, PyTorch's
/// `pad_sequence` pads `.post`, and `LSTM`'s `lengths` count valid steps from
/// the start (`.post` padding).
public enum SequenceEnd: Sendable, Hashable {
    /// The beginning (Keras's `pad_sequences` default for both).
    case pre
    /// The end (PyTorch's `pad_sequence`; what `lengths` and masks expect).
    case post
}

/// How long the padded sequences are.
public enum PaddedLength: Sendable, Hashable {
    /// The longest sequence's length (Keras's `maxlen=None`, MATLAB's `"longest"`).
    case longest
    /// The shortest sequence's length: everything is truncated to it, nothing is
    /// padded (MATLAB's `"shortest"`).
    case shortest
    /// A fixed length (Keras's `maxlen`), at least 1.
    case fixed(Int)
}

/// Sequences of different lengths padded or truncated to one length.
public struct PaddedSequences: Sendable, Equatable {
    /// (count, T, ...), where `...` is each sequence's shape after its first axis.
    public let values: Tensor
    /// (count, T): 1 where a timestep holds data, 0 where it is padding.
    public let mask: Tensor
    /// The number of timesteps kept from each sequence (after truncation), (count).
    public let lengths: [Int]
}

/// Pads and truncates sequences exactly as `keras.utils.pad_sequences(...,
/// dtype="float32")` does, and also returns the mask and lengths Keras leaves to you.
///
/// Each sequence is a tensor whose first axis is time: (T_i) or (T_i, F, ...); all
/// must agree after the first axis (empty sequences excepted, which become all
/// padding). A sequence longer than the target length loses timesteps at the
/// `truncating` end; a shorter one gets `value` at the `padding` end.
///
/// ```swift
/// let padded = try padSequences([a, b, c], length: .fixed(20), padding: .post, truncating: .post)
/// padded.values   // (3, 20, F)
/// padded.mask     // (3, 20)
/// ```
///
/// - Throws: `invalidArgument` for an empty list, a rank-0 tensor or a non-positive
///   fixed length; `shapeMismatch` naming the first sequence whose per-step shape
///   differs; `sizeOverflow` when the result would not fit.
/// - Complexity: O(count * T * F).
public func padSequences(
    _ sequences: [Tensor], length: PaddedLength = .longest, padding: SequenceEnd, truncating: SequenceEnd, value: Float = 0
) throws -> PaddedSequences {
    guard !sequences.isEmpty else {
        throw FrameSequencingError.invalidArgument(name: "sequences", expected: "at least one sequence", actual: "none")
    }
    // Per-step shape from the first non-empty sequence, as Keras takes it.
    var stepShape: [Int]? = nil
    for (index, sequence) in sequences.enumerated() {
        guard sequence.shape.rank >= 1 else {
            throw FrameSequencingError.invalidArgument(
                name: "sequence \(index)", expected: "a tensor whose first axis is time", actual: "a scalar")
        }
        let inner = Array(sequence.dimensions.dropFirst())
        guard sequence.dimensions[0] > 0 else { continue }
        if let expected = stepShape, expected != inner {
            throw FrameSequencingError.shapeMismatch(name: "Sequence \(index)",
                expected: ShapeRequirement(exactly: [sequence.dimensions[0]] + expected), actual: sequence.dimensions)
        }
        stepShape = stepShape ?? inner
    }
    let inner = stepShape ?? []
    let lengths = sequences.map { $0.dimensions[0] }
    let target: Int
    switch length {
    case .longest: target = lengths.max()!
    case .shortest: target = lengths.min()!
    case .fixed(let n):
        try FrameSequencingError.requirePositive(n, "padded length")
        target = n
    }
    let features = Shape(inner).checkedElementCount ?? 0
    let count = sequences.count
    let valueNames = ["batch", "timesteps"] + inner.indices.map { "feature\($0)" }
    var values = try Tensor(shape: Shape([count, target] + inner, names: valueNames), repeating: value)
    var mask = try Tensor(shape: Shape([count, target], names: ["batch", "timesteps"]))
    var kept = [Int](repeating: 0, count: count)

    values.withUnsafeMutableBufferPointer { out in
        mask.withUnsafeMutableBufferPointer { maskOut in
            for (index, sequence) in sequences.enumerated() {
                let n = min(lengths[index], target)
                kept[index] = n
                guard n > 0 else { continue }
                let from = truncating == .pre ? lengths[index] - n : 0   // first source step kept
                let to = padding == .pre ? target - n : 0                // first destination step
                sequence.withUnsafeBufferPointer { source in
                    (out.baseAddress! + (index * target + to) * features)
                        .update(from: source.baseAddress! + from * features, count: n * features)
                }
                (maskOut.baseAddress! + index * target + to).update(repeating: 1, count: n)
            }
        }
    }
    return PaddedSequences(values: values, mask: mask, lengths: kept)
}

/// Pads and truncates scalar sequences (each a `[Float]` of one feature per step);
/// the result's values are (count, T).
public func padSequences(
    _ sequences: [[Float]], length: PaddedLength = .longest, padding: SequenceEnd, truncating: SequenceEnd, value: Float = 0
) throws -> PaddedSequences {
    let tensors = try sequences.map { try Tensor(shape: [$0.count], scalars: $0) }
    return try padSequences(tensors, length: length, padding: padding, truncating: truncating, value: value)
}

/// Variable-length sequences in batches, each batch padded on its own, as MATLAB's
/// `SequenceLength` option does: with `.longest` a batch is padded to its own
/// longest sequence (not the data set's), with `.shortest` truncated to its own
/// shortest. A lazy collection: a batch is padded when it is accessed.
///
/// ```swift
/// let batches = try PaddedBatches(sequences, size: 32, length: .longest, padding: .post, truncating: .post)
/// for batch in batches { train(batch.values, batch.mask) }   // (32, T_batch, F)
/// ```
///
/// - Complexity: O(count) to make (the order); each batch O(size * T * F).
public struct PaddedBatches: RandomAccessCollection, Sendable {
    /// The sequences, each with time as its first axis.
    public let sequences: [Tensor]
    /// Sequences per full batch.
    public let batchSize: Int
    /// Sequence numbers in batch order (a seeded permutation when shuffled).
    public let order: [Int]
    let length: PaddedLength
    let padding: SequenceEnd
    let truncating: SequenceEnd
    let value: Float

    /// Batches of `size` sequences (the last may be shorter), in order or shuffled
    /// with `shuffleSeed`; padding options as for `padSequences(_:length:padding:truncating:value:)`.
    ///
    /// - Throws: `invalidArgument` for no sequences or a non-positive size.
    public init(
        _ sequences: [Tensor], size: Int, length: PaddedLength = .longest, padding: SequenceEnd, truncating: SequenceEnd,
        value: Float = 0, shuffleSeed: UInt64? = nil
    ) throws {
        guard !sequences.isEmpty else {
            throw FrameSequencingError.invalidArgument(name: "sequences", expected: "at least one sequence", actual: "none")
        }
        try FrameSequencingError.requirePositive(size, "batch size")
        if case .fixed(let n) = length { try FrameSequencingError.requirePositive(n, "padded length") }
        // Validated once here, so that padding a batch later cannot fail.
        _ = try padSequences(sequences.map { try $0.slice(0 ..< Swift.min(1, $0.dimensions.first ?? 0)) }, padding: padding,
                             truncating: truncating)
        var order = Array(sequences.indices)
        if let seed = shuffleSeed {
            var generator = SeededGenerator(seed: seed)
            generator.shuffle(&order)
        }
        self.sequences = sequences
        self.batchSize = size
        self.order = order
        self.length = length
        self.padding = padding
        self.truncating = truncating
        self.value = value
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { ceilingDivide(order.count, batchSize) }

    /// The sequence numbers of batch `position`.
    ///
    /// - Throws: `indexOutOfRange` when `position` is outside `indices`.
    public func members(of position: Int) throws -> ArraySlice<Int> {
        guard position >= 0 && position < endIndex else {
            throw FrameSequencingError.indexOutOfRange(name: "Padded batch", index: position, count: endIndex)
        }
        return order[position * batchSize ..< Swift.min(order.count, (position + 1) * batchSize)]
    }

    /// Batch `position`, padded. Traps outside `indices`, like every `Collection`
    /// subscript (``batch(at:)`` throws instead); the sequences were validated when
    /// the collection was made, so padding itself cannot fail.
    public subscript(position: Int) -> PaddedSequences {
        do { return try batch(at: position) } catch { preconditionFailure("\(error)") }
    }

    /// Batch `position`, padded.
    ///
    /// - Throws: `indexOutOfRange` when `position` is outside `indices`, and what
    ///   `padSequences(_:length:padding:truncating:value:)` throws.
    public func batch(at position: Int) throws -> PaddedSequences {
        try padSequences(members(of: position).map { sequences[$0] }, length: length,
                         padding: padding, truncating: truncating, value: value)
    }

    /// Batch `position`, padded.
    @available(*, deprecated, renamed: "batch(at:)")
    public func batch(_ position: Int) throws -> PaddedSequences { try batch(at: position) }
}
