import FrameSequencing

/// The result of running an LSTM over a batch.
public struct LSTMResult: Sendable {
    /// (B, T, D*H) or (T, B, D*H) with every timestep; or (B, D*H), the top layer's
    /// final hidden state of each direction, when only the last step is asked for.
    /// Past a sequence's length, outputs are zero.
    public var output: Tensor
    /// The final (h, c) of every layer and direction, at each sequence's last valid step.
    public var finalState: LSTMState
}

/// What ``LSTM/backward(outputGradient:finalStateGradient:cache:into:)`` needs
/// from a ``LSTM/trainingForward(_:initialState:lengths:layout:returnSequences:dropoutSeed:)``
/// call: each layer's input, dropout masks and per-direction activation
/// records, or with ``LSTM/recomputation`` the states every k steps instead.
public struct LSTMCache: Sendable {
    let batch: Int
    let timesteps: Int
    let timeMajor: Bool
    let returnSequences: Bool
    let lengths: [Int]?
    let layerInputs: [[Float]]      // per layer: [rows, layer input] after dropout
    let dropoutMasks: [[Float]?]    // per layer: [rows, layer input] of 0 or 1/(1-p)
    let records: [[Float]]          // per layer*D + d: LSTMRecordLayout buffers (none when recomputing)
    let segments: TimeSegments?     // when recomputing: the segments of the time loops
    let checkpoints: [[Float]]      // when recomputing, per layer*D + d: [S, 2, B, H] (h, c) at each segment's start
    let outputShape: [Int]
    let inputShape: [Int]
}

extension LSTM {
    /// Runs the LSTM for inference; keeps nothing for backward.
    ///
    /// - Parameters:
    ///   - input: (B, T, I) for `.batchMajor`, (T, B, I) for `.timeMajor`.
    ///   - initialState: (L*D, B, H) each; zeros when `nil`.
    ///   - lengths: valid timesteps per sequence (each in `0...T`), with PyTorch's
    ///     packed-sequence semantics: outputs past a length are zero and the final
    ///     state is taken at the last valid step, in both directions.
    ///   - layout: `.batchMajor` (PyTorch's `batch_first`) or `.timeMajor`.
    ///   - returnSequences: every timestep, or only the top layer's final hidden state.
    /// - Throws: `shapeMismatch` / `invalidArgument` for inputs that do not fit,
    ///   or for ``layers`` or ``dropout`` changed since the LSTM was made
    ///   (a tensor of another shape, another number of entries).
    public func forward(
        _ input: Tensor, initialState: LSTMState? = nil, lengths: [Int]? = nil,
        layout: SequenceLayout = .batchMajor, returnSequences: Bool = true
    ) throws -> LSTMResult {
        try run(input, initialState: initialState, lengths: lengths, layout: layout,
                returnSequences: returnSequences, training: false, dropoutSeed: 0).result
    }

    /// Runs the LSTM keeping what backward needs (every step's record, or the
    /// states that ``recomputation`` asks for); applies dropout between stacked
    /// layers (seeded by `dropoutSeed`) when ``dropout`` is above zero.
    ///
    /// - Throws: as ``forward(_:initialState:lengths:layout:returnSequences:)``,
    ///   and `invalidArgument` for a ``Recomputation/keepStatesEvery(_:)`` below 1.
    public func trainingForward(
        _ input: Tensor, initialState: LSTMState? = nil, lengths: [Int]? = nil,
        layout: SequenceLayout = .batchMajor, returnSequences: Bool = true, dropoutSeed: UInt64 = 0
    ) throws -> (result: LSTMResult, cache: LSTMCache) {
        let (result, cache) = try run(input, initialState: initialState, lengths: lengths, layout: layout,
                                      returnSequences: returnSequences, training: true, dropoutSeed: dropoutSeed)
        return (result, cache!)
    }

    /// Lengths from a (B, T) mask of 1 (valid) and 0 (padding), each row a run of
    /// ones followed by zeros. Throws `invalidArgument` for any other mask.
    public static func lengths(fromMask mask: Tensor) throws -> [Int] {
        guard mask.shape.rank == 2 else {
            throw RecurrentError.invalidArgument(name: "mask", expected: "a (batch, timesteps) tensor", actual: "shape \(mask.dimensions)")
        }
        let (batch, steps) = (mask.dimensions[0], mask.dimensions[1])
        let values = mask.scalars
        return try (0 ..< batch).map { b in
            let row = values[b * steps ..< (b + 1) * steps]
            let length = row.prefix { $0 != 0 }.count
            guard row.dropFirst(length).allSatisfy({ $0 == 0 }) else {
                throw RecurrentError.invalidArgument(
                    name: "mask row \(b)", expected: "ones followed by zeros (a valid prefix)", actual: "\(Array(row))")
            }
            return length
        }
    }

    // MARK: The shared forward pass

    func run(
        _ input: Tensor, initialState: LSTMState?, lengths: [Int]?, layout: SequenceLayout,
        returnSequences: Bool, training: Bool, dropoutSeed: UInt64
    ) throws -> (result: LSTMResult, cache: LSTMCache?) {
        try validateParameters()
        guard layout != .spatial else {
            throw RecurrentError.invalidArgument(name: "layout", expected: ".batchMajor or .timeMajor", actual: ".spatial")
        }
        guard input.shape.rank == 3, input.dimensions[2] == inputSize else {
            throw RecurrentError.shapeMismatch(
                name: "LSTM input", expected: layout == .timeMajor ? [.any("timesteps"), .any("batch"), .size(inputSize)]
                    : [.any("batch"), .any("timesteps"), .size(inputSize)],
                actual: input.dimensions)
        }
        let timeMajor = layout == .timeMajor
        let (batch, steps) = timeMajor ? (input.dimensions[1], input.dimensions[0]) : (input.dimensions[0], input.dimensions[1])
        try RecurrentError.requirePositive(batch, "batch size")
        try RecurrentError.requirePositive(steps, "timesteps")
        if let lengths {
            guard lengths.count == batch, lengths.allSatisfy({ $0 >= 0 && $0 <= steps }) else {
                throw RecurrentError.invalidArgument(
                    name: "lengths", expected: "\(batch) values in 0...\(steps)", actual: "\(lengths)")
            }
        }
        let stateShape = [layerCount * directionCount, batch, hiddenSize]
        let state = try initialState ?? LSTMState.zeros(for: self, batch: batch)
        try RecurrentError.requireShape(state.hidden, stateShape, "Initial hidden state")
        try RecurrentError.requireShape(state.cell, stateShape, "Initial cell state")

        let rows = batch * steps
        let (hidden, directions) = (hiddenSize, directionCount)
        var finalHidden = [Float](repeating: 0, count: stateShape.reduce(1, *))
        var finalCell = finalHidden
        let initialHidden = state.hidden.scalars
        let initialCell = state.cell.scalars
        var layerInput = input.scalars
        var layerInputs: [[Float]] = []
        var masks: [[Float]?] = []
        var records: [[Float]] = []
        var checkpoints: [[Float]] = []
        let segments = training ? try recomputation.segments(timesteps: steps) : nil
        let keepsRecord = training && segments == nil
        var dropoutGenerator = SeededGenerator(seed: dropoutSeed)
        // Buffers the kernels overwrite whole are not zeroed first (a memset of
        // megabytes per call): inference gates, each layer's output, and the record
        // of an unpadded batch; a padded batch's record keeps zeros in the rows the
        // kernels skip, which backward multiplies by zero gradients.
        var gates = keepsRecord ? [] : uninitializedFloats(rows * 4 * hidden)
        let recordCount = LSTMRecordLayout(rows: rows, hidden: hidden).count
        // Inference on unpadded batches reuses the weights as packed by the
        // last such call since they were written; training packs per call.
        let packings = training || lengths != nil ? nil : inferencePacking.directions(for: self, path: .active) {
            LSTMSequenceGeometry(batch: batch, timesteps: steps, inputSize: layerInputSize($0 / directions),
                                 hiddenSize: hidden, timeMajor: timeMajor, reversed: $0 % directions == 1)
        }

        for layer in 0 ..< layerCount {
            let width = layerInputSize(layer)
            var mask: [Float]? = nil
            if training && dropout > 0 && layer > 0 {
                let keep = 1 / (1 - dropout)
                mask = (0 ..< rows * width).map { _ in dropoutGenerator.nextUnitFloat() < dropout ? 0 : keep }
                for i in layerInput.indices { layerInput[i] *= mask![i] }
            }
            var output = uninitializedFloats(rows * directions * hidden)
            for direction in 0 ..< directions {
                let index = layer * directions + direction
                let geometry = LSTMSequenceGeometry(batch: batch, timesteps: steps, inputSize: width, hiddenSize: hidden,
                                                    timeMajor: timeMajor, reversed: direction == 1)
                var record = !keepsRecord ? [] : lengths == nil ? uninitializedFloats(recordCount)
                                                                : [Float](repeating: 0, count: recordCount)
                var states = segments.map { uninitializedFloats($0.count * 2 * batch * hidden) } ?? []
                let stateOffset = index * batch * hidden
                layers[index].withPointers { weights in
                    layerInput.withUnsafeBufferPointer { x in
                        output.withUnsafeMutableBufferPointer { y in
                            finalHidden.withUnsafeMutableBufferPointer { hn in
                                finalCell.withUnsafeMutableBufferPointer { cn in
                                    initialHidden.withUnsafeBufferPointer { h0 in
                                        initialCell.withUnsafeBufferPointer { c0 in
                                            withOptionalPointer(lengths) { lengthPointer in
                                                withWorkspace(training: keepsRecord, record: &record, gates: &gates) { gatePointer, recordPointer in
                                                    states.withUnsafeMutableBufferPointer { states in
                                                        lstmSequenceForward(
                                                            geometry, input: x.baseAddress!, inputStride: width, weights: weights,
                                                            initialHidden: h0.baseAddress! + stateOffset,
                                                            initialCell: c0.baseAddress! + stateOffset, lengths: lengthPointer,
                                                            output: y.baseAddress! + direction * hidden, outputStride: directions * hidden,
                                                            finalHidden: hn.baseAddress! + stateOffset,
                                                            finalCell: cn.baseAddress! + stateOffset,
                                                            gates: gatePointer, record: recordPointer,
                                                            checkpoints: segments.map {
                                                                LSTMCheckpointRows(base: states.baseAddress!, segments: $0,
                                                                                   batch: batch, hidden: hidden)
                                                            },
                                                            packed: packings?[index])
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                if keepsRecord { records.append(record) }
                if segments != nil { checkpoints.append(states) }
            }
            if training {
                layerInputs.append(layerInput)
                masks.append(mask)
            }
            layerInput = output
        }

        let stateNames = ["layers*directions", "batch", "hidden"]
        let finalState = LSTMState(hidden: try Tensor(shape: Shape(stateShape, names: stateNames), scalars: finalHidden),
                                   cell: try Tensor(shape: Shape(stateShape, names: stateNames), scalars: finalCell))
        let output: Tensor
        if returnSequences {
            let dims = timeMajor ? [steps, batch, directions * hidden] : [batch, steps, directions * hidden]
            output = try Tensor(shape: Shape(dims, names: timeMajor ? ["timesteps", "batch", "features"]
                                                                     : ["batch", "timesteps", "features"]),
                                scalars: layerInput)
        } else {
            // The top layer's final hidden state of each direction, side by side.
            var last = [Float](repeating: 0, count: batch * directions * hidden)
            for direction in 0 ..< directions {
                let index = (layerCount - 1) * directions + direction
                for b in 0 ..< batch {
                    for j in 0 ..< hidden {
                        last[(b * directions + direction) * hidden + j] = finalHidden[(index * batch + b) * hidden + j]
                    }
                }
            }
            output = try Tensor(shape: Shape([batch, directions * hidden], names: ["batch", "features"]), scalars: last)
        }
        let result = LSTMResult(output: output, finalState: finalState)
        guard training else { return (result, nil) }
        return (result, LSTMCache(batch: batch, timesteps: steps, timeMajor: timeMajor, returnSequences: returnSequences,
                                  lengths: lengths, layerInputs: layerInputs, dropoutMasks: masks, records: records,
                                  segments: segments, checkpoints: checkpoints,
                                  outputShape: output.dimensions, inputShape: input.dimensions))
    }
}
/// Calls `body` with a pointer to `values`' elements, or `nil`.
func withOptionalPointer<R>(_ values: [Int]?, _ body: (UnsafePointer<Int>?) throws -> R) rethrows -> R {
    guard let values else { return try body(nil) }
    return try values.withUnsafeBufferPointer { try body($0.baseAddress!) }
}

/// Training with a record writes gates straight into it; inference, and training
/// that keeps checkpoints instead, use a reused scratch buffer.
private func withWorkspace<R>(
    training: Bool, record: inout [Float], gates: inout [Float],
    _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?) throws -> R
) rethrows -> R {
    if training {
        return try record.withUnsafeMutableBufferPointer { try body($0.baseAddress!, $0.baseAddress!) }
    }
    return try gates.withUnsafeMutableBufferPointer { try body($0.baseAddress!, nil) }
}
