import FrameSequencing

/// Recurrent layers stacked, each reading the sequence the one below returns,
/// each with a state of its own: Keras's stacked `ConvLSTM2D` or `LSTM` layers,
/// and the stacks of Shi et al. (2015)'s encoder and forecaster.
///
/// ```swift
/// let stack = try RecurrentStack([ConvLSTM2D(inputChannels: 1, filters: 8, kernelSize: (3, 3), padding: .same, seed: 1),
///                                 ConvLSTM2D(inputChannels: 8, filters: 8, kernelSize: (3, 3), padding: .same, seed: 2)],
///                                output: .concatenated)
/// let (sequence, states) = try stack.forward(frames, from: nil, returnSequences: true, context: LayerContext())
/// ```
///
/// The state is one entry per layer. With ``Output/top`` the output is the top
/// layer's; with ``Output/concatenated`` every layer's sequence side by side
/// along the last axis (Shi's forecaster reads them all).
public struct RecurrentStack<Element: RecurrentLayer>: Sendable {
    /// What the stack returns.
    public enum Output: Sendable, Hashable {
        /// The top layer's output.
        case top
        /// Every layer's output sequence, concatenated along the last axis; every
        /// layer returns its sequence, whatever `returnSequences` asks.
        case concatenated
    }

    /// The layers, bottom first.
    public var layers: [Element]
    /// What the stack returns.
    public var output: Output

    /// A stack of `layers`, bottom first.
    ///
    /// - Throws: `invalidArgument` for an empty stack.
    public init(_ layers: [Element], output: Output = .top) throws {
        guard !layers.isEmpty else {
            throw RecurrentError.invalidArgument(name: "RecurrentStack layers", expected: "at least one layer", actual: "none")
        }
        self.layers = layers
        self.output = output
    }

    /// What backward needs: each layer's cache.
    public struct Cache: Sendable {
        let layers: [Element.Cache]
        let widths: [Int]
    }

    /// Each layer's parameter gradients, bottom first.
    public struct Gradients: GradientSet {
        public var layers: [Element.Gradients]
        public var tensors: [Tensor] { layers.flatMap(\.tensors) }
        public mutating func zero() {
            for index in layers.indices { layers[index].zero() }
        }
    }

    /// Throws for an empty stack (its layers are public) or a state list of another length.
    private func requireStates(_ states: [Element.State]?) throws {
        guard !layers.isEmpty else {
            throw RecurrentError.invalidArgument(name: "RecurrentStack layers", expected: "at least one layer", actual: "none")
        }
        guard states == nil || states!.count == layers.count else {
            throw RecurrentError.invalidArgument(name: "RecurrentStack state", expected: "one state per layer (\(layers.count))",
                                                 actual: "\(states!.count) states")
        }
    }

    /// Whether layer `index` returns its sequence.
    private func returnsSequence(_ index: Int, _ returnSequences: Bool) -> Bool {
        output == .concatenated || index < layers.count - 1 || returnSequences
    }
}

extension RecurrentStack: RecurrentLayer {
    public func forward(_ input: Tensor, from states: [Element.State]?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: [Element.State]) {
        try requireStates(states)
        var (x, finals, outputs) = (input, [Element.State](), [Tensor]())
        for (index, layer) in layers.enumerated() {
            let result = try layer.forward(x, from: states?[index], returnSequences: returnsSequence(index, returnSequences),
                                           context: context)
            x = result.output
            if output == .concatenated { outputs.append(x) }   // the top output alone needs no copy kept
            finals.append(result.finalState)
        }
        return (output == .top ? x : try concatenatedAlongLastAxis(outputs), finals)
    }

    public func trainingForward(_ input: Tensor, from states: [Element.State]?, returnSequences: Bool, context: LayerContext) throws
        -> (output: Tensor, finalState: [Element.State], cache: Cache) {
        try requireStates(states)
        var (x, finals, outputs, caches) = (input, [Element.State](), [Tensor](), [Element.Cache]())
        for (index, layer) in layers.enumerated() {
            let result = try layer.trainingForward(x, from: states?[index], returnSequences: returnsSequence(index, returnSequences),
                                                   context: context)
            x = result.output
            if output == .concatenated { outputs.append(x) }   // the top output alone needs no copy kept
            finals.append(result.finalState)
            caches.append(result.cache)
        }
        let cache = Cache(layers: caches, widths: outputs.map { $0.dimensions.last ?? 0 })
        return (output == .top ? x : try concatenatedAlongLastAxis(outputs), finals, cache)
    }

    public func backward(outputGradient: Tensor, finalStateGradient: [Element.State]?, cache: Cache,
                         into gradients: inout Gradients) throws -> (input: Tensor, initialState: [Element.State]) {
        guard cache.layers.count == layers.count, gradients.layers.count == layers.count else {
            throw RecurrentError.cacheMismatch(reason: "this stack has \(layers.count) layers")
        }
        try requireStates(finalStateGradient)
        let perLayer = output == .top ? nil : try splitAlongLastAxis(outputGradient, cache.widths)
        var (initialStates, carried) = ([Element.State](), nil as Tensor?)
        for index in layers.indices.reversed() {
            var dy = perLayer?[index] ?? outputGradient
            if let carried { dy = perLayer == nil ? carried : try addedTensors(dy, carried) }
            let result = try layers[index].backward(outputGradient: dy, finalStateGradient: finalStateGradient?[index],
                                                    cache: cache.layers[index], into: &gradients.layers[index])
            initialStates.insert(result.initialState, at: 0)
            carried = result.input
        }
        return (carried!, initialStates)
    }

    /// The bottom layer's (0 for an empty stack).
    public var inputFeatures: Int { layers.first?.inputFeatures ?? 0 }

    /// The bottom layer's zero input after the bottom layer's state.
    public func zeroInput(timesteps: Int, after states: [Element.State]) throws -> Tensor {
        try requireStates(states)
        return try layers[0].zeroInput(timesteps: timesteps, after: states[0])
    }
}

/// As a ``Layer``, a stack starts from zero states and returns every timestep.
extension RecurrentStack: Layer {
    public func outputDimensions(forInput dimensions: [Int]) throws -> [Int] {
        try requireStates(nil)
        var current = dimensions
        var widths: [Int] = []
        for layer in layers {
            current = try layer.outputDimensions(forInput: current)
            widths.append(current.last ?? 0)
        }
        return output == .top ? current : current.dropLast() + [widths.reduce(0, +)]
    }

    public func forward(_ input: Tensor, context: LayerContext) throws -> Tensor {
        try forward(input, from: nil, returnSequences: true, context: context).output
    }

    public func trainingForward(_ input: Tensor, context: LayerContext) throws -> (output: Tensor, cache: Cache) {
        let result = try trainingForward(input, from: nil, returnSequences: true, context: context)
        return (result.output, result.cache)
    }

    public func backward(outputGradient: Tensor, cache: Cache, into gradients: inout Gradients) throws -> Tensor {
        try backward(outputGradient: outputGradient, finalStateGradient: nil, cache: cache, into: &gradients).input
    }
}

extension RecurrentStack: Trainable {
    /// Each layer's parameters under its position: `0.kernel`, `1.recurrent_kernel`, ...
    public var namedParameters: [(name: String, tensor: Tensor)] {
        layers.enumerated().flatMap { index, layer in prefixed("\(index)", layer.namedParameters) }
    }

    public mutating func visitParameters(_ body: (Int, inout Tensor) throws -> Void) rethrows {
        var offset = 0
        for index in layers.indices {
            let count = layers[index].parameterCount
            try layers[index].visitParameters { try body(offset + $0, &$1) }
            offset += count
        }
    }

    public func zeroGradients() -> Gradients { Gradients(layers: layers.map { $0.zeroGradients() }) }
}

extension RecurrentStack.Gradients: Equatable where Element.Gradients: Equatable {}
