/// What a recurrent layer outputs at a masked (padded) timestep, where the
/// state is carried over unchanged. The frameworks disagree, so a layer takes
/// it as an option; every recurrent layer of the package that reads masks or
/// lengths (``LSTM``, ``GRU``, ``ConvLSTM2D``) uses this one type.
///
/// "Before" and "after" are in the order the layer processes the steps: a
/// reversed direction (Keras's `go_backwards`, the reverse half of a
/// bidirectional LSTM or GRU) meets a sequence's padding in the other order.
///
/// ```swift
/// var lstm = try LSTM(inputSize: 3, hiddenSize: 4)
/// lstm.maskedOutput = .lastValid                      // Keras's default
/// let y = try lstm.forward(x, mask: mask).output      // padded steps repeat the last valid output
/// ```
public enum MaskedOutput: Sendable, Hashable {
    /// Zero: PyTorch's `pad_packed_sequence`, Keras's `zero_output_for_mask=True`.
    case zero
    /// The output of the latest valid step processed before it, or zero when
    /// no valid step came before it (padding a sequence starts with): Keras's
    /// default (`zero_output_for_mask=False`). The gradient arriving at such a
    /// step flows to the step whose output it repeats.
    case lastValid
}
