import FrameSequencing

/// The estimated peak memory and work of a training run, before anything is
/// allocated: the parameters, their gradients and the optimizer's state, one
/// batch's forward record and backward workspaces, the frames and the batch
/// buffers, and the process's own baseline.
///
/// A step holds the parameters, gradients and optimizer state throughout;
/// forward and backward add the activations (``ActivationFootprint``) and the
/// loss's gradient; clipping then copies the gradients. Evaluation runs the
/// model for inference. The peak is the largest of those phases on top of the
/// frames, the batch buffers and the baseline.
///
/// ```swift
/// let footprint = try trainer.footprint(for: windows, options: options)
/// print(footprint.peakBytes, footprint.flopsPerEpoch)
/// ```
public struct TrainingFootprint: Sendable, Equatable {
    /// Scalar parameters of the model.
    public var parameterCount: Int
    /// Optimizer state per parameter, in floats (Adam's two moments: 2).
    public var optimizerStateFloatsPerParameter: Int
    /// Whether gradients are clipped (clipping works on a copy of them).
    public var clipsGradients: Bool
    /// One training batch through the model.
    public var activation: ActivationFootprint
    /// The most an evaluation pass holds (inference on a batch), in bytes.
    public var evaluationBytes: Int
    /// The frames as stored (bytes or floats), in bytes.
    public var frameBytes: Int
    /// The batch buffers (inputs, targets, mask), in bytes.
    public var batchBytes: Int
    /// Optimizer steps in one epoch.
    public var stepsPerEpoch: Int
    /// The process's own memory: the Swift runtime, thread stacks and the
    /// packing buffers of the matrix products.
    public var runtimeBytes: Int = TrainingFootprint.runtimeBaselineBytes

    /// What a process that trains nothing holds, measured on Linux (release
    /// build, 2 threads: 27-31 MB for a tiny model) with room for the matrix
    /// products' packing buffers of larger ones.
    public static let runtimeBaselineBytes = 40 << 20

    /// A footprint of these parts.
    public init(parameterCount: Int, optimizerStateFloatsPerParameter: Int, clipsGradients: Bool,
                activation: ActivationFootprint, evaluationBytes: Int, frameBytes: Int, batchBytes: Int, stepsPerEpoch: Int) {
        self.parameterCount = parameterCount
        self.optimizerStateFloatsPerParameter = optimizerStateFloatsPerParameter
        self.clipsGradients = clipsGradients
        self.activation = activation
        self.evaluationBytes = evaluationBytes
        self.frameBytes = frameBytes
        self.batchBytes = batchBytes
        self.stepsPerEpoch = stepsPerEpoch
    }

    /// Bytes of the parameters (Float32).
    public var parameterBytes: Int { floatBytes(count: parameterCount) }

    /// Parameters, gradients and optimizer state: held for the whole run.
    public var modelStateBytes: Int {
        saturatingProduct(parameterBytes, 2 + optimizerStateFloatsPerParameter)
    }

    /// The most a training step adds on top of the model's state: the forward
    /// pass's peak, or everything it retained plus the loss gradient (and the
    /// loss's own buffer of the same size) plus backward's peak.
    public var stepBytes: Int {
        let loss = 2 * activation.outputBytes
        return max(activation.forwardPeakBytes, activation.retainedBytes + loss + activation.backwardPeakBytes)
    }

    /// The estimated peak resident memory of the run, in bytes.
    public var peakBytes: Int {
        let phases = max(stepBytes, clipsGradients ? parameterBytes : 0, evaluationBytes)
        return [runtimeBytes, frameBytes, batchBytes, modelStateBytes, phases].reduce(0) { saturatingSum($0, $1) }
    }

    /// Floating-point operations of one training step (forward and backward:
    /// about three forward passes).
    public var flopsPerStep: Double { 3 * activation.forwardFlops }

    /// Floating-point operations of one epoch.
    public var flopsPerEpoch: Double { flopsPerStep * Double(stepsPerEpoch) }
}

extension Trainer where Model: FootprintEstimating {
    /// The estimated footprint of ``fit(_:options:callback:)`` with `options` on
    /// `windows`, from the model's configuration and the batch shape; nothing
    /// is allocated.
    ///
    /// - Throws: `invalidArgument` for windows without targets; what the
    ///   model's forward pass would throw for the batch shape.
    public func footprint(for windows: FrameWindows, options: TrainingOptions) throws -> TrainingFootprint {
        let batches = try windows.batches(size: max(options.batchSize, 1))
        let shapes = batches.bufferShapes(layout: options.layout)
        let input = shapes.inputs
        let activation = try model.activationFootprint(inputDimensions: input)
        let held = Int((Double(windows.count) * options.validationFraction).rounded())
        let steps = (windows.count - held + options.batchSize - 1) / max(options.batchSize, 1)
        return TrainingFootprint(
            parameterCount: model.scalarCount, optimizerStateFloatsPerParameter: optimizer.stateFloatsPerParameter,
            clipsGradients: options.clipping != nil, activation: activation,
            evaluationBytes: held > 0 || options.validationWindows != nil ? activation.inferencePeakBytes : 0, frameBytes: windows.frames.storageBytes,
            batchBytes: shapes.bytes, stepsPerEpoch: steps)
    }
}

func saturatingSum(_ a: Int, _ b: Int) -> Int {
    a.addingReportingOverflow(b).overflow ? Int.max : a + b
}

func saturatingProduct(_ a: Int, _ b: Int) -> Int {
    a.multipliedReportingOverflow(by: b).overflow ? Int.max : a * b
}
