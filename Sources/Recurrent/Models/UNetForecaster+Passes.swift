import FrameSequencing

// The model's forward and backward passes over (B, T, H, W, C) from a given
// bottleneck state: the sequence pass (from zeros) and the one-frame step of
// closed-loop training are both these with T frames and T = 1.

extension UNetForecaster {
    /// What ``trainingForward(_:from:context:)`` keeps for backward: every
    /// layer's own cache (the skips are the encoder convolutions' outputs, the
    /// joined maps the decoder convolutions' inputs) and the shapes between them.
    public struct Cache: Sendable {
        let encoder: [Conv2D.Cache]
        /// One per stage: the pooling's or the stride-2 convolution's.
        let downsampling: [DownsamplingCache]
        let bottleneck: ConvLSTM2D.Cache
        let decoder: [DecoderCache]
        let head: Conv2D.Cache
        /// (B, T, H, W, C) of the frames read.
        let inputDimensions: [Int]
    }

    enum DownsamplingCache: Sendable {
        case pooling(MaxPool2D.Cache)
        case convolution(Conv2D.Cache)
    }

    struct DecoderCache: Sendable {
        let up: Conv2DTranspose.Cache
        /// (B * T, 2h, 2w, F) before the crop to the skip's grid.
        let upDimensions: [Int]
        /// The two inputs of the concatenation: the cropped upsampled maps and the skip.
        let joined: [[Int]]
        let conv: Conv2D.Cache
    }

    /// (B, T) of `frames`, or `shapeMismatch` unless they are (B >= 1, T >= 1, H, W, C)
    /// of this model's frame.
    func requireFrames(_ frames: [Int]) throws -> (batch: Int, steps: Int) {
        let frame = [frameHeight, frameWidth, channels]
        guard frames.count == 5, frames[0] > 0, frames[1] > 0, Array(frames.dropFirst(2)) == frame else {
            throw RecurrentError.shapeMismatch(
                name: "UNetForecaster frames (batch, timesteps, height, width, channels)",
                expected: ShapeRequirement([.any("batch >= 1"), .any("timesteps >= 1")] + frame.map { .size($0) }), actual: frames)
        }
        return (frames[0], frames[1])
    }

    /// The predictions for `frames` (B, T, H, W, C) from the bottleneck's
    /// `state` (zeros when nil): (B, T, H, W, C), step t predicting frame
    /// t + 1, and the bottleneck's state after the last frame.
    ///
    /// - Throws: `shapeMismatch` for frames that are not (B, T, H, W, C) of the
    ///   model's frame, or a state that is not (B, H_L, W_L, F) each.
    public func forward(_ frames: Tensor, from state: ConvLSTMState?, context: LayerContext = LayerContext()) throws
        -> (output: Tensor, finalState: ConvLSTMState) {
        let (batch, steps) = try requireFrames(frames.dimensions)
        var x = try frames.reshaped(to: Shape([batch * steps] + frames.dimensions.dropFirst(2)))
        var skips: [Tensor] = []
        for (index, conv) in encoder.enumerated() {
            skips.append(try conv.forward(x))
            x = try pooling?.forward(skips[index]) ?? downsamplingConvolutions[index].forward(skips[index])
        }
        let codes = try x.reshaped(to: Shape([batch, steps] + x.dimensions.dropFirst()))
        let recurrence = try bottleneck.forward(codes, from: state, returnSequences: true, context: Self.bottleneckContext(context))
        var y = try folded(recurrence.output)
        for stage in decoder.reversed() {
            let (up, skip) = (try stage.up.forward(y), skips.removeLast())      // each skip released once joined
            y = try stage.conv.forward(try Concatenate().forward([try cropped(up, skip.dimensions[1], skip.dimensions[2]), skip]))
        }
        return (try head.forward(y).reshaped(to: Shape(frames.dimensions)), recurrence.finalState)
    }

    /// ``forward(_:from:context:)`` keeping what backward needs.
    public func trainingForward(_ frames: Tensor, from state: ConvLSTMState?, context: LayerContext = LayerContext()) throws
        -> (output: Tensor, finalState: ConvLSTMState, cache: Cache) {
        let (batch, steps) = try requireFrames(frames.dimensions)
        var x = try frames.reshaped(to: Shape([batch * steps] + frames.dimensions.dropFirst(2)))
        var (encoderCaches, downsamplingCaches, skips) = ([Conv2D.Cache](), [DownsamplingCache](), [Tensor]())
        for (index, conv) in encoder.enumerated() {
            let (skip, convCache) = try conv.trainingForward(x)
            skips.append(skip)
            encoderCaches.append(convCache)
            if let pooling {
                let (pooled, record) = try pooling.trainingForward(skip)
                (x, downsamplingCaches) = (pooled, downsamplingCaches + [.pooling(record)])
            } else {
                let (strided, record) = try downsamplingConvolutions[index].trainingForward(skip)
                (x, downsamplingCaches) = (strided, downsamplingCaches + [.convolution(record)])
            }
        }
        let codes = try x.reshaped(to: Shape([batch, steps] + x.dimensions.dropFirst()))
        let recurrence = try bottleneck.trainingForward(codes, from: state, returnSequences: true,
                                                        context: Self.bottleneckContext(context))
        var y = try folded(recurrence.output)
        var decoderCaches: [DecoderCache] = []
        for (stage, skip) in zip(decoder, skips).reversed() {
            let (up, upCache) = try stage.up.trainingForward(y)
            let upCropped = try cropped(up, skip.dimensions[1], skip.dimensions[2])
            let (merged, convCache) = try stage.conv.trainingForward(try Concatenate().forward([upCropped, skip]))
            y = merged
            decoderCaches.insert(DecoderCache(up: upCache, upDimensions: up.dimensions,
                                              joined: [upCropped.dimensions, skip.dimensions], conv: convCache), at: 0)
        }
        let (output, headCache) = try head.trainingForward(y)
        return (try output.reshaped(to: Shape(frames.dimensions)), recurrence.finalState,
                Cache(encoder: encoderCaches, downsampling: downsamplingCaches, bottleneck: recurrence.cache, decoder: decoderCaches,
                      head: headCache, inputDimensions: frames.dimensions))
    }

    /// Backward of `L = sum(output * outputGradient) + <finalState, finalStateGradient>`
    /// (no state term when nil): adds every parameter's gradient into
    /// `gradients` and returns dL/dframes (B, T, H, W, C) and dL/d(the state
    /// the pass started from). Each skip's gradient is the decoder's share of
    /// the joined maps' gradient, added to the pooling's on the way down.
    ///
    /// - Throws: `shapeMismatch` for an output gradient that is not the
    ///   frames' shape; `cacheMismatch` for a cache or gradients of a model of
    ///   other stages.
    public func backward(outputGradient: Tensor, finalStateGradient: ConvLSTMState?, cache: Cache,
                         into gradients: inout Gradients) throws -> (input: Tensor, initialState: ConvLSTMState) {
        try RecurrentError.requireShape(outputGradient, cache.inputDimensions, "UNetForecaster output gradient")
        guard cache.encoder.count == stageCount, cache.decoder.count == stageCount, gradients.encoder.count == stageCount,
              gradients.decoder.count == stageCount, gradients.downsampling.count == downsamplingConvolutions.count else {
            throw RecurrentError.cacheMismatch(reason: "this UNetForecaster has \(stageCount) stages and \(downsampling) "
                + "downsampling, the cache \(cache.encoder.count) stages and the gradients \(gradients.encoder.count) stages "
                + "with \(gradients.downsampling.count) strided convolutions")
        }
        var delta = try head.backward(outputGradient: try folded(outputGradient), cache: cache.head, into: &gradients.head)
        var skipGradients: [Tensor] = []
        for (index, stage) in decoder.enumerated() {                     // decoder[0] ran last
            let record = cache.decoder[index]
            let joined = try stage.conv.backward(outputGradient: delta, cache: record.conv, into: &gradients.decoder[index].conv)
            let pieces = try Concatenate().backward(outputGradient: joined, inputDimensions: record.joined)
            skipGradients.append(pieces[1])
            let upGradient = try uncropped(pieces[0], to: Shape(record.upDimensions))
            delta = try stage.up.backward(outputGradient: upGradient, cache: record.up, into: &gradients.decoder[index].up)
        }
        let (batch, steps) = (cache.inputDimensions[0], cache.inputDimensions[1])
        let recurrence = try bottleneck.backward(
            outputGradient: try delta.reshaped(to: Shape([batch, steps] + delta.dimensions.dropFirst())),
            finalStateGradient: finalStateGradient, cache: cache.bottleneck, into: &gradients.bottleneck)
        delta = try folded(recurrence.input)
        for index in encoder.indices.reversed() {
            let below: Tensor
            switch (cache.downsampling[index], pooling) {
            case let (.pooling(record), pooling?):
                below = try pooling.backward(outputGradient: delta, cache: record)
            case let (.convolution(record), nil):
                below = try downsamplingConvolutions[index].backward(outputGradient: delta, cache: record,
                                                                     into: &gradients.downsampling[index])
            default:
                throw RecurrentError.cacheMismatch(reason: "it was recorded by a UNetForecaster of other downsampling")
            }
            let skip = try addedTensors(below, skipGradients[index])
            delta = try encoder[index].backward(outputGradient: skip, cache: cache.encoder[index], into: &gradients.encoder[index])
        }
        return (try delta.reshaped(to: Shape(cache.inputDimensions)), recurrence.initialState)
    }

    /// (B, T, ...) as (B * T, ...), the per-frame layers' batch.
    private func folded(_ x: Tensor) throws -> Tensor {
        try x.reshaped(to: Shape([x.dimensions[0] * x.dimensions[1]] + x.dimensions.dropFirst(2)))
    }

    /// The bottleneck reads full sequences: the per-frame layers have no
    /// notion of padding, so the context's lengths never reach it.
    private static func bottleneckContext(_ context: LayerContext) -> LayerContext {
        LayerContext(lengths: nil, dropoutSeed: context.dropoutSeed)
    }
}
