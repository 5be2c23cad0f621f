// The padding calls as they were before every call named its ends: padSequences
// defaulted to `.pre` (Keras) and PaddedBatches to `.post` (PyTorch), so the
// same omission meant opposite things. Removed in 0.3.0.

/// ``padSequences(_:length:padding:truncating:value:)`` with the ends it used to
/// default to: `.pre` for both, as Keras's `pad_sequences`.
@available(*, deprecated, message: "pass padding: and truncating: (.pre is Keras's default, .post PyTorch's and what LSTM lengths expect)")
public func padSequences(
    _ sequences: [Tensor], length: PaddedLength = .longest, padding: SequenceEnd? = nil, truncating: SequenceEnd? = nil,
    value: Float = 0
) throws -> PaddedSequences {
    try padSequences(sequences, length: length, padding: padding ?? .pre, truncating: truncating ?? .pre, value: value)
}

/// ``padSequences(_:length:padding:truncating:value:)`` for scalar sequences with
/// the ends it used to default to: `.pre` for both.
@available(*, deprecated, message: "pass padding: and truncating: (.pre is Keras's default, .post PyTorch's and what LSTM lengths expect)")
public func padSequences(
    _ sequences: [[Float]], length: PaddedLength = .longest, padding: SequenceEnd? = nil, truncating: SequenceEnd? = nil,
    value: Float = 0
) throws -> PaddedSequences {
    try padSequences(sequences, length: length, padding: padding ?? .pre, truncating: truncating ?? .pre, value: value)
}

extension PaddedBatches {
    /// ``init(_:size:length:padding:truncating:value:shuffleSeed:)`` with the ends
    /// it used to default to: `.post` for both, as PyTorch's `pad_sequence`.
    @available(*, deprecated, message: "pass padding: and truncating: (.post is PyTorch's default and what LSTM lengths expect)")
    public init(
        _ sequences: [Tensor], size: Int, length: PaddedLength = .longest, padding: SequenceEnd? = nil,
        truncating: SequenceEnd? = nil, value: Float = 0, shuffleSeed: UInt64? = nil
    ) throws {
        try self.init(sequences, size: size, length: length, padding: padding ?? .post, truncating: truncating ?? .post,
                      value: value, shuffleSeed: shuffleSeed)
    }
}
