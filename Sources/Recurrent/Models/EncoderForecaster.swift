import FrameSequencing

/// The encoding-forecasting structure of Shi et al. (2015): an encoder reads
/// the observed sequence, a forecaster starts from the encoder's final state
/// and runs ``horizon`` steps on zero input, and its output is the forecast
/// (B, k, ...). Any recurrence serves: stacks of ``ConvLSTM2D`` in
/// ``ConvLSTMForecaster``, of ``LSTM`` for flat features.
///
/// ```swift
/// let model = try EncoderForecaster(encoder: RecurrentStack([ConvLSTM2D(...)]),
///                                   forecaster: RecurrentStack([ConvLSTM2D(...)], output: .concatenated), horizon: 3)
/// let states = try model.forward(frames, context: LayerContext())   // (B, 3, H, W, the forecaster's filters summed)
/// ```
///
/// The forecaster's first layer reads zeros, so its input weights get zero
/// gradients; the forecast is driven by the copied state alone.
public struct EncoderForecaster<Recurrence: RecurrentLayer>: Sendable {
    /// Reads the observed sequence; only its final state is used.
    public var encoder: Recurrence
    /// Runs ``horizon`` steps from the encoder's final state.
    public var forecaster: Recurrence
    /// Steps forecast per sequence (k).
    public let horizon: Int

    /// A model of the given recurrences; the forecaster takes the encoder's state.
    ///
    /// - Throws: `invalidArgument` for a horizon below 1.
    public init(encoder: Recurrence, forecaster: Recurrence, horizon: Int) throws {
        try RecurrentError.requirePositive(horizon, "EncoderForecaster horizon")
        self.encoder = encoder
        self.forecaster = forecaster
        self.horizon = horizon
    }

    /// What backward needs from a training forward pass.
    public struct Cache: Sendable {
        let encoder: Recurrence.Cache
        let forecaster: Recurrence.Cache
        let encoderOutputShape: [Int]
    }

    /// The encoder's and the forecaster's parameter gradients.
    public struct Gradients: GradientSet {
        public var encoder: Recurrence.Gradients
        public var forecaster: Recurrence.Gradients
        public var tensors: [Tensor] { encoder.tensors + forecaster.tensors }
        public mutating func zero() {
            encoder.zero()
            forecaster.zero()
        }
    }

    /// The encoder's final state after `input`, starting from `state` (zeros when nil).
    public func encode(_ input: Tensor, from state: Recurrence.State? = nil, context: LayerContext = LayerContext()) throws
        -> Recurrence.State {
        try encoder.forward(input, from: state, returnSequences: false, context: context).finalState
    }

    /// The ``horizon`` steps the forecaster runs from `state`.
    public func forecast(from state: Recurrence.State, context: LayerContext = LayerContext()) throws -> Tensor {
        try forecaster.forward(try forecaster.zeroInput(timesteps: horizon, after: state), from: state, returnSequences: true,
                               context: context).output
    }
}

extension EncoderForecaster: Layer {
    /// The forecaster's output for ``horizon`` steps, (B, k, ...), on the grid
    /// of the encoder's output.
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        let encoded = try encoder.outputDimensions(forInput: dimensions)
        return try forecaster.outputDimensions(forInput: [encoded[0], horizon] + encoded.dropFirst(2).dropLast() + [forecaster.inputFeatures])
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try forecast(from: try encode(input, context: context), context: context)
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        let encoded = try encoder.trainingForward(input, from: nil, returnSequences: false, context: context)
        let zeros = try forecaster.zeroInput(timesteps: horizon, after: encoded.finalState)
        let forecast = try forecaster.trainingForward(zeros, from: encoded.finalState, returnSequences: true, context: context)
        return (forecast.output, Cache(encoder: encoded.cache, forecaster: forecast.cache, encoderOutputShape: encoded.output.dimensions))
    }

    /// The forecaster's gradient flows into the encoder through the copied
    /// state alone (the encoder's own output is unused).
    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        let forecast = try forecaster.backward(outputGradient: outputGradient, finalStateGradient: nil, cache: cache.forecaster,
                                               into: &gradients.forecaster)
        let unused = try Tensor(shape: Shape(cache.encoderOutputShape))
        return try encoder.backward(outputGradient: unused, finalStateGradient: forecast.initialState, cache: cache.encoder,
                                    into: &gradients.encoder).input
    }
}

extension EncoderForecaster: Trainable {
    /// `encoder.*` and `forecaster.*`.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        prefixed("encoder", encoder.namedParameters) + prefixed("forecaster", forecaster.namedParameters)
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        let count = encoder.parameterCount
        try encoder.visitParameters(body)
        try forecaster.visitParameters { try body(count + $0, &$1) }
    }

    public func zeroGradients() -> Gradients {
        Gradients(encoder: encoder.zeroGradients(), forecaster: forecaster.zeroGradients())
    }
}

extension EncoderForecaster.Gradients: Equatable where Recurrence.Gradients: Equatable {}
