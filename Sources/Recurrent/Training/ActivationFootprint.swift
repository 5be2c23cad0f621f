import FrameSequencing

/// The memory and work of one layer (or a chain of layers) on one batch, as a
/// planner sees it before anything is allocated: what a training step keeps
/// from the forward pass until backward ends, the most it holds on top of that
/// at any moment, and the same for an inference pass.
///
/// Every figure is in bytes of the layer's own buffers (Float32 tensors,
/// records, indices). The layer's input is not counted: it belongs to whoever
/// passed it (the batch buffer, or the layer before, whose output it is). The
/// gradient arriving at the layer's output in backward is not counted either:
/// it belongs to the layer after it (or the loss).
///
/// Chains compose with ``then(_:)``, so a model's footprint is its layers'
/// footprints in order. ``TrainingFootprint`` adds the parameters, their
/// gradients, the optimizer's state, the frames and the batch buffers.
///
/// ```swift
/// let lstm = try LSTM(inputSize: 4096, hiddenSize: 256)
/// let footprint = try lstm.activationFootprint(inputDimensions: [16, 10, 4096])
/// footprint.retainedBytes        // the record and outputs one training step keeps
/// ```
public struct ActivationFootprint: Sendable, Equatable {
    /// The output's dimensions, batch first.
    public var outputDimensions: [Int]
    /// Bytes a training forward pass allocates that stay alive until backward
    /// ends: the saved-for-backward record and the output.
    public var retainedBytes: Int
    /// The most bytes held at any moment of the training forward pass, the
    /// retained ones included (at least ``retainedBytes``).
    public var forwardPeakBytes: Int
    /// The most bytes held at any moment of backward on top of everything
    /// retained and the output's gradient: the input's gradient and workspaces.
    public var backwardPeakBytes: Int
    /// The most bytes an inference pass holds at any moment, its output included.
    public var inferencePeakBytes: Int
    /// Floating-point operations of one forward pass (a training step is about three times as many).
    public var forwardFlops: Double
    /// True when the output is the input's buffer seen with another shape (a
    /// reshape, a flatten): then so is the gradient passed back.
    public var outputIsView: Bool

    /// A footprint; `forwardPeakBytes` is raised to at least `retainedBytes`.
    public init(outputDimensions: [Int], retainedBytes: Int, forwardPeakBytes: Int = 0, backwardPeakBytes: Int,
                inferencePeakBytes: Int, forwardFlops: Double) {
        self.outputDimensions = outputDimensions
        self.retainedBytes = retainedBytes
        self.forwardPeakBytes = max(forwardPeakBytes, retainedBytes)
        self.backwardPeakBytes = backwardPeakBytes
        self.inferencePeakBytes = inferencePeakBytes
        self.forwardFlops = forwardFlops
        self.outputIsView = false
    }

    /// A layer that passes its input on without a buffer of its own (a
    /// reshape, a flatten): nothing retained, nothing in flight.
    public static func view(_ outputDimensions: [Int]) -> ActivationFootprint {
        var footprint = ActivationFootprint(outputDimensions: outputDimensions, retainedBytes: 0, backwardPeakBytes: 0,
                                            inferencePeakBytes: 0, forwardFlops: 0)
        footprint.outputIsView = true
        return footprint
    }

    /// Bytes of the output tensor (Float32).
    public var outputBytes: Int { floatBytes(outputDimensions) }

    /// This chain followed by `next`, which reads this one's output.
    ///
    /// Forward: `next` runs with all of this chain's retained bytes alive.
    /// Backward: `next` runs first (its own input gradient is this chain's
    /// output gradient, counted in its peak); then this chain runs while the
    /// gradient it receives (this chain's output size, produced by `next`) is
    /// held. Inference: `next` runs while this chain's output (its input) is
    /// held and the chain's earlier buffers are released.
    public func then(_ next: ActivationFootprint) -> ActivationFootprint {
        // The gradient `next` hands back is a new buffer unless `next` only reshapes;
        // the input `next` reads is a new buffer unless this chain only reshapes.
        let handedBack = next.outputIsView ? 0 : outputBytes
        let handedOn = outputIsView ? 0 : outputBytes
        var chain = ActivationFootprint(
            outputDimensions: next.outputDimensions,
            retainedBytes: retainedBytes + next.retainedBytes,
            forwardPeakBytes: max(forwardPeakBytes, retainedBytes + next.forwardPeakBytes),
            backwardPeakBytes: max(next.backwardPeakBytes, handedBack + backwardPeakBytes),
            inferencePeakBytes: max(inferencePeakBytes, handedOn + next.inferencePeakBytes),
            forwardFlops: forwardFlops + next.forwardFlops)
        chain.outputIsView = outputIsView && next.outputIsView
        return chain
    }

    /// `parts` in order, each reading the previous one's output.
    public static func chain(_ parts: [ActivationFootprint], input: [Int]) -> ActivationFootprint {
        parts.reduce(.view(input)) { $0.then($1) }
    }
}

/// Bytes of a Float32 tensor of `dimensions` (saturating, so an absurd shape
/// gives an absurd size instead of a trap).
func floatBytes(_ dimensions: [Int]) -> Int {
    dimensions.reduce(MemoryLayout<Float>.stride) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
}

/// `count` Float32 values in bytes, saturating.
func floatBytes(count: Int) -> Int {
    count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride).overflow ? Int.max : count * MemoryLayout<Float>.stride
}

/// A type whose training and inference memory a planner can estimate from
/// its configuration and an input shape, before anything is allocated. The
/// package's layers and models conform.
public protocol FootprintEstimating {
    /// The footprint of one pass over an input of `inputDimensions` (batch first).
    ///
    /// - Throws: what the forward pass would throw for that shape.
    func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint
}
