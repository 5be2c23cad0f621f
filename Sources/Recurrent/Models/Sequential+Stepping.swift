import FrameSequencing

/// A recurrence that a forecaster runs one timestep at a time in training,
/// from a state and to a state, with gradients into and out of both: the
/// building block of training through the model's own predictions
/// (``ClosedLoopTrainable``).
protocol SteppedRecurrence: Layer {
    /// What one step hands the next.
    associatedtype StepState: Sendable

    /// The output for `input` (B, 1, ...) from `state` (zeros when nil), the
    /// state after it, and what ``backwardStep(outputGradient:stateGradient:cache:into:)`` needs.
    func trainingStep(_ input: Tensor, from state: StepState?, context: LayerContext) throws
        -> (output: Tensor, state: StepState, cache: Cache)

    /// Backward of `L = sum(output * outputGradient) + <state, stateGradient>`
    /// (no state term when nil): adds the parameters' gradients into
    /// `gradients` and returns dL/dinput and dL/d(the state the step started from).
    func backwardStep(outputGradient: Tensor, stateGradient: StepState?, cache: Cache, into gradients: inout Gradients) throws
        -> (input: Tensor, state: StepState)
}

extension RecurrentLayer {
    /// One timestep of the sequence, every output returned.
    func trainingStep(_ input: Tensor, from state: State?, context: LayerContext) throws
        -> (output: Tensor, state: State, cache: Cache) {
        let result = try trainingForward(input, from: state, returnSequences: true, context: context)
        return (result.output, result.finalState, result.cache)
    }

    func backwardStep(outputGradient: Tensor, stateGradient: State?, cache: Cache, into gradients: inout Gradients) throws
        -> (input: Tensor, state: State) {
        let result = try backward(outputGradient: outputGradient, finalStateGradient: stateGradient, cache: cache, into: &gradients)
        return (result.input, result.initialState)
    }
}

extension LSTM: SteppedRecurrence {
    typealias StepState = LSTMState
}

extension GRU: SteppedRecurrence {
    /// h alone, (L * D, B, H).
    typealias StepState = Tensor
}

extension EncoderForecaster: SteppedRecurrence where Recurrence.State: SummableState {
    /// The encoder's state: each step reads one frame into the encoder and
    /// forecasts one step from there; the next step continues the encoder.
    typealias StepState = Recurrence.State

    /// The encoder reads `input` (B, 1, ...) from `state`; the forecaster runs
    /// one step on zeros from the encoder's new state (the first of the
    /// ``horizon`` steps it runs in a full pass).
    func trainingStep(_ input: Tensor, from state: Recurrence.State?, context: LayerContext) throws
        -> (output: Tensor, state: Recurrence.State, cache: Cache) {
        let encoded = try encoder.trainingForward(input, from: state, returnSequences: false, context: context)
        let zeros = try forecaster.zeroInput(timesteps: 1, after: encoded.finalState)
        let forecast = try forecaster.trainingForward(zeros, from: encoded.finalState, returnSequences: true, context: context)
        return (forecast.output, encoded.finalState,
                Cache(encoder: encoded.cache, forecaster: forecast.cache, encoderOutputShape: encoded.output.dimensions))
    }

    /// The encoder's final state gets the forecaster's gradient plus
    /// `stateGradient` (from the steps after this one).
    func backwardStep(outputGradient: Tensor, stateGradient: Recurrence.State?, cache: Cache, into gradients: inout Gradients) throws
        -> (input: Tensor, state: Recurrence.State) {
        let forecast = try forecaster.backward(outputGradient: outputGradient, finalStateGradient: nil, cache: cache.forecaster,
                                               into: &gradients.forecaster)
        var carried = forecast.initialState
        if let stateGradient { carried = try stateGradient.adding(carried) }
        let unused = try Tensor(shape: Shape(cache.encoderOutputShape))
        let result = try encoder.backward(outputGradient: unused, finalStateGradient: carried, cache: cache.encoder,
                                          into: &gradients.encoder)
        return (result.input, result.initialState)
    }
}

/// A state whose gradients add: two paths into one state sum their gradients.
protocol SummableState {
    /// `self + other`, tensor by tensor.
    func adding(_ other: Self) throws -> Self
}

extension CellState: SummableState {
    func adding(_ other: CellState) throws -> CellState {
        CellState(hidden: try addedTensors(hidden, other.hidden), cell: try addedTensors(cell, other.cell))
    }
}

extension Array: SummableState where Element: SummableState {
    func adding(_ other: [Element]) throws -> [Element] {
        guard count == other.count else {
            throw RecurrentError.invalidArgument(name: "State gradient", expected: "\(count) states", actual: "\(other.count)")
        }
        return try zip(self, other).map { try $0.adding($1) }
    }
}

/// What a body run one timestep keeps: the caches of the layers before the
/// recurrence, of its step, and of the layers after it.
struct SteppedBodyCache<Recurrence: SteppedRecurrence>: Sendable {
    let before: Sequential.Cache
    let recurrence: Recurrence.Cache
    let after: Sequential.Cache
}

extension Sequential {
    /// One timestep through the stack whose layer `index` is the recurrence
    /// (of type `type`) and whose other layers act on each timestep alone:
    /// `input` (B, 1, ...) from `state` to the output (B, 1, ...) and the new state.
    func steppedForward<Recurrence: SteppedRecurrence>(_ input: Tensor, recurrence index: Int, as type: Recurrence.Type,
                                                     from state: Recurrence.StepState?, context: LayerContext) throws
        -> (output: Tensor, state: Recurrence.StepState, cache: SteppedBodyCache<Recurrence>) {
        let (x, before) = try sublayers(0 ..< index).trainingForward(input, context: context)
        let step = try part(index, as: Recurrence.self).trainingStep(x, from: state, context: context)
        let (y, after) = try sublayers(index + 1 ..< layers.count).trainingForward(step.output, context: context)
        return (y, step.state, SteppedBodyCache(before: before, recurrence: step.cache, after: after))
    }

    /// Backward of ``steppedForward(_:recurrence:as:from:context:)``: adds every
    /// layer's parameter gradients into `gradients` (the whole stack's) and
    /// returns dL/dinput and dL/d(the state the step started from).
    func steppedBackward<Recurrence: SteppedRecurrence>(outputGradient: Tensor, stateGradient: Recurrence.StepState?,
                                                     cache: SteppedBodyCache<Recurrence>, recurrence index: Int,
                                                     into gradients: inout Gradients) throws
        -> (input: Tensor, state: Recurrence.StepState) {
        guard gradients.layers.count == layers.count else {
            throw RecurrentError.cacheMismatch(reason: "this stack has \(layers.count) layers and the gradients \(gradients.layers.count)")
        }
        let after = index + 1 ..< layers.count
        let dy = try gradients.withParts(after) { try sublayers(after).backward(outputGradient: outputGradient, cache: cache.after, into: &$0) }
        let step = try gradients.withPart(index, as: Recurrence.Gradients.self) {
            try part(index, as: Recurrence.self).backwardStep(outputGradient: dy, stateGradient: stateGradient,
                                                                cache: cache.recurrence, into: &$0)
        }
        let dx = try gradients.withParts(0 ..< index) { try sublayers(0 ..< index).backward(outputGradient: step.input, cache: cache.before, into: &$0) }
        return (dx, step.state)
    }
}

extension Sequential.Gradients {
    /// Runs `body` on the gradients of layers `range` as a stack's of their
    /// own, moved out of this one while it runs (so updating them copies no tensor).
    mutating func withParts<R>(_ range: Range<Int>, _ body: (inout Sequential.Gradients) throws -> R) rethrows -> R {
        var parts = Sequential.Gradients(layers: Array(layers[range]))
        for index in range { layers[index] = NoGradients() }
        defer { layers.replaceSubrange(range, with: parts.layers) }
        return try body(&parts)
    }

    /// Runs `body` on layer `index`'s gradients as a `type`, moved out while it runs.
    mutating func withPart<G: GradientSet, R>(_ index: Int, as type: G.Type, _ body: (inout G) throws -> R) throws -> R {
        guard var part = layers[index] as? G else {
            throw RecurrentError.cacheMismatch(reason: "layer \(index)'s gradients are a \(Swift.type(of: layers[index])), not a \(G.self)")
        }
        layers[index] = NoGradients()
        defer { layers[index] = part }
        return try body(&part)
    }
}

/// One step's record of a forecaster built as a ``Composite``, kept by
/// ``ClosedLoopTrainable/trainingStep(_:from:context:)`` for its backward.
public struct ForecastStepCache: Sendable {
    let body: any Sendable
}

extension Composite {
    /// One frame (B, H, W, C) through the body whose layer `index` is the
    /// recurrence: the prediction (B, H', W', C'), the recurrence's new state and the step's record.
    func steppedForward<Recurrence: SteppedRecurrence>(_ frame: Tensor, recurrence index: Int, as type: Recurrence.Type,
                                                       from state: Recurrence.StepState?, context: LayerContext) throws
        -> (prediction: Tensor, state: Recurrence.StepState, cache: ForecastStepCache) {
        try validateComposition()
        guard frame.shape.rank == 4 else {
            throw RecurrentError.shapeMismatch(name: "\(Self.self) frame (batch, height, width, channels)",
                                               expected: [.any("batch"), .any("height"), .any("width"), .any("channels")],
                                               actual: frame.dimensions)
        }
        let step = try body.steppedForward(try oneStep(frame), recurrence: index, as: type, from: state, context: context)
        let output = step.output.dimensions
        return (try step.output.reshaped(to: Shape([output[0]] + output.dropFirst(2))), step.state, ForecastStepCache(body: step.cache))
    }

    /// Backward of ``steppedForward(_:recurrence:as:from:context:)``: dL/dframe and dL/d(the state it started from).
    func steppedBackward<Recurrence: SteppedRecurrence>(predictionGradient: Tensor, stateGradient: Recurrence.StepState?,
                                                        cache: ForecastStepCache, recurrence index: Int, as type: Recurrence.Type,
                                                        into gradients: inout Sequential.Gradients) throws
        -> (frame: Tensor, state: Recurrence.StepState) {
        try validateComposition()
        guard let cache = cache.body as? SteppedBodyCache<Recurrence> else {
            throw RecurrentError.cacheMismatch(reason: "the step's record was not made by a \(Self.self)")
        }
        try RecurrentError.requireShape(predictionGradient, [cache.after.outputShape[0]] + cache.after.outputShape.dropFirst(2),
                                        "\(Self.self) prediction gradient")
        let step = try body.steppedBackward(outputGradient: try oneStep(predictionGradient), stateGradient: stateGradient,
                                            cache: cache, recurrence: index, into: &gradients)
        let input = step.input.dimensions
        return (try step.input.reshaped(to: Shape([input[0]] + input.dropFirst(2))), step.state)
    }
}
