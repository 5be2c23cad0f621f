import FrameSequencing

/// How a recurrent layer's time loops see a padded or reversed batch, and how
/// their output becomes the caller's. The time loops know one kind of padding,
/// lengths (each sequence's valid steps first, outputs zero past them, the
/// state carried unchanged); everything else is a move of whole timesteps
/// around them (SequenceMoves.swift):
///
/// - a reversed input (``LSTM/goBackwards``, ``GRU/goBackwards``) is read backwards first, so its
///   post-padding becomes pre-padding in processing order, as in Keras, which
///   reverses the mask with the input;
/// - a sequence whose valid steps start at step s > 0 (pre-padding) is shifted
///   s steps earlier for the time loops and their output s steps back (for a
///   time loop that runs backwards and writes in processing order,
///   ``ConvLSTM2D/isReversed``, s steps the other way);
/// - ``MaskedOutput/lastValid`` fills the padded outputs afterwards.
///
/// Backward applies the adjoints in the opposite order. Without padding or
/// reversal every step is the identity and the time loops get the caller's
/// buffers untouched.
struct MaskedSequencePlan: Sendable {
    /// Batch, timesteps and layout of the input and of the output sequence.
    let batch: Int, timesteps: Int, timeMajor: Bool
    /// The input is read backwards before anything else.
    let reversesInput: Bool
    /// Per sequence, input step t + shift becomes the time loops' step t; nil: none moves.
    let inputShifts: [Int]?
    /// The lengths the time loops get; nil when no step is padding.
    let kernelLengths: [Int]?
    /// Per sequence, the time loops' output step p + shift becomes the caller's step p; nil: none moves.
    let outputShifts: [Int]?
    /// The valid steps at the caller's output positions (for `lastValid`).
    let outputSpans: SequenceSpans?
    /// Output columns with the order their time loop ran in (true: from the last step to the first).
    let directions: [Direction]
    let maskedOutput: MaskedOutput

    struct Direction: Sendable {
        let columns: Range<Int>
        let backward: Bool
    }

    /// Whether any output of the time loops is moved or filled.
    var movesOutput: Bool { outputShifts != nil || fillsOutput }
    private var fillsOutput: Bool { maskedOutput == .lastValid && outputSpans.map { !$0.isFull } ?? false }

    /// The plan of an LSTM or a GRU (their time loops read the input in the
    /// caller's order and write outputs at their own steps): `spans` as the caller gave them; the output in
    /// processing order when `reversed` (Keras's `go_backwards`); one
    /// direction per entry of `directions`.
    static func lstm(spans: SequenceSpans?, batch: Int, timesteps: Int, timeMajor: Bool, reversed: Bool,
                     maskedOutput: MaskedOutput, directions: [Direction]) -> MaskedSequencePlan {
        let processed = reversed ? spans?.reversed() : spans
        let shifts = processed.flatMap { $0.isPostPadded ? nil : $0.starts }
        return MaskedSequencePlan(
            batch: batch, timesteps: timesteps, timeMajor: timeMajor, reversesInput: reversed, inputShifts: shifts,
            kernelLengths: processed.flatMap { $0.isFull ? nil : $0.lengths }, outputShifts: shifts.map { $0.map { -$0 } },
            outputSpans: processed, directions: directions, maskedOutput: maskedOutput)
    }

    /// The plan of a ConvLSTM2D, whose time loop reverses itself when
    /// `reversed` and writes its output in processing order.
    static func convLSTM(spans: SequenceSpans?, batch: Int, timesteps: Int, reversed: Bool, maskedOutput: MaskedOutput,
                         columns: Int) -> MaskedSequencePlan {
        let shifts = spans.flatMap { $0.isPostPadded ? nil : $0.starts }
        return MaskedSequencePlan(
            batch: batch, timesteps: timesteps, timeMajor: false, reversesInput: false, inputShifts: shifts,
            kernelLengths: spans.flatMap { $0.isFull ? nil : $0.lengths },
            outputShifts: shifts.map { reversed ? $0 : $0.map { -$0 } },
            outputSpans: reversed ? spans?.reversed() : spans,
            directions: [Direction(columns: 0 ..< columns, backward: false)], maskedOutput: maskedOutput)
    }

    private func rows(_ width: Int) -> SequenceRows {
        SequenceRows(batch: batch, timesteps: timesteps, width: width, timeMajor: timeMajor)
    }

    /// The input as the time loops read it (`width` floats per step).
    func kernelInput(_ values: [Float], width: Int) -> [Float] {
        var x = reversesInput ? timeReversed(values, rows(width)) : values
        if let inputShifts { x = shiftedSequences(x, rows(width), shifts: inputShifts) }
        return x
    }

    /// The caller's output from the time loops' (`width` floats per step).
    func output(_ values: [Float], width: Int) -> [Float] {
        var y = outputShifts.map { shiftedSequences(values, rows(width), shifts: $0) } ?? values
        if fillsOutput, let spans = outputSpans {
            for direction in directions {
                fillLastValid(&y, rows(width), starts: spans.starts, ends: spans.ends, columns: direction.columns,
                              backward: direction.backward)
            }
        }
        return y
    }

    /// The gradient of the time loops' output from the caller's.
    func kernelOutputGradient(_ values: [Float], width: Int) -> [Float] {
        var g = values
        if fillsOutput, let spans = outputSpans {
            for direction in directions {
                foldLastValid(&g, rows(width), starts: spans.starts, ends: spans.ends, columns: direction.columns,
                              backward: direction.backward)
            }
        }
        if let outputShifts { g = shiftedSequences(g, rows(width), shifts: outputShifts.map { -$0 }) }
        return g
    }

    /// The gradient of the caller's input from the time loops'.
    func inputGradient(_ values: [Float], width: Int) -> [Float] {
        var g = inputShifts.map { shiftedSequences(values, rows(width), shifts: $0.map { -$0 }) } ?? values
        if reversesInput { g = timeReversed(g, rows(width)) }
        return g
    }

    /// Whether the input is moved before the time loops.
    var movesInput: Bool { reversesInput || inputShifts != nil }
}
