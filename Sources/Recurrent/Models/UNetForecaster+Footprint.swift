import FrameSequencing

// The model's footprint for the memory planner, composed from its layers'
// (see ActivationFootprint) the way its passes run.

extension UNetForecaster: FootprintEstimating {
    /// For (B, T, H, W, C): per stage its convolution (whose output, the skip,
    /// is kept) and its pooling or strided convolution over B * T frames; the
    /// bottleneck over (B, T, ...); per decoder stage the up-convolution, the
    /// crop (a passing copy), the joined maps (kept for the convolution's
    /// backward) and the convolution; the head. Each layer's peaks also count
    /// the skips alive while it runs: in backward, the gradients of the skips
    /// the decoder has handed back and the encoder has not yet taken (all of
    /// them during the bottleneck's); in inference, the skips the decoder has
    /// yet to join.
    public func activationFootprint(inputDimensions: [Int]) throws -> ActivationFootprint {
        let (batch, steps) = try requireFrames(inputDimensions)
        var current = [batch * steps] + inputDimensions.dropFirst(2)
        var encoderParts: [[ActivationFootprint]] = []       // per stage: convolution, downsampling
        var skips: [Int] = []                                 // bytes of each skip
        for (index, conv) in encoder.enumerated() {
            let stage = try conv.activationFootprint(inputDimensions: current)
            let down = try pooling?.activationFootprint(inputDimensions: stage.outputDimensions)
                ?? downsamplingConvolutions[index].activationFootprint(inputDimensions: stage.outputDimensions)
            encoderParts.append([stage, down])
            skips.append(stage.outputBytes)
            current = down.outputDimensions
        }
        let codes = [batch, steps] + current.dropFirst()
        let recurrence = try bottleneck.activationFootprint(inputDimensions: codes, returnSequences: true)
        current = [batch * steps] + recurrence.outputDimensions.dropFirst(2)
        var decoderParts: [[ActivationFootprint]] = Array(repeating: [], count: stageCount)   // per stage, in run order
        for index in decoder.indices.reversed() {
            let stage = decoder[index]
            let skip = encoderParts[index][0].outputDimensions
            let up = try stage.up.activationFootprint(inputDimensions: current)
            var parts = [up]
            var upDimensions = up.outputDimensions
            if upDimensions[1] != skip[1] || upDimensions[2] != skip[2] {
                let full = upDimensions
                upDimensions = [full[0], skip[1], skip[2], full[3]]
                parts.append(ActivationFootprint(outputDimensions: upDimensions, retainedBytes: 0, forwardPeakBytes: floatBytes(upDimensions),
                                                 backwardPeakBytes: floatBytes(full), inferencePeakBytes: floatBytes(upDimensions),
                                                 forwardFlops: 0))
            }
            let joined = Array(upDimensions.dropLast()) + [upDimensions[3] + skip[3]]
            parts.append(ActivationFootprint(outputDimensions: joined, retainedBytes: floatBytes(joined),
                                             backwardPeakBytes: floatBytes(joined), inferencePeakBytes: floatBytes(joined),
                                             forwardFlops: 0))
            parts.append(try stage.conv.activationFootprint(inputDimensions: joined))
            decoderParts[index] = parts
            current = parts[parts.count - 1].outputDimensions
        }
        let below = { (stage: Int) in skips[..<stage].reduce(0, +) }           // skips of the stages above `stage`
        var parts: [ActivationFootprint] = [.view([batch * steps] + inputDimensions.dropFirst(2))]
        for (index, stage) in encoderParts.enumerated() {
            // The downsampling's backward ends in adding the skip's gradient: a new skip-sized buffer.
            parts.append(stage[0].holding(backward: below(index), inference: below(index)))
            parts.append(stage[1].holding(backward: below(index + 1) + skips[index], inference: below(index)))
        }
        parts += [.view(codes), recurrence.holding(backward: below(stageCount), inference: below(stageCount)),
                  .view([batch * steps] + recurrence.outputDimensions.dropFirst(2))]
        for index in decoder.indices.reversed() {
            let stage = decoderParts[index]
            // Backward: the split (the joining's) hands back skip `index`'s gradient,
            // which waits through the up-convolution's. Inference: skip `index`
            // waits until the joining reads it.
            for (position, part) in stage.enumerated() {
                let role = stage.count - 1 - position                   // 0 the convolution, 1 the joining
                parts.append(part.holding(backward: role <= 1 ? below(index) : below(index + 1),
                                          inference: role == 0 ? below(index) : below(index + 1)))
            }
        }
        parts += [try head.activationFootprint(inputDimensions: current), .view(inputDimensions)]
        return ActivationFootprint.chain(parts, input: inputDimensions)
    }
}

extension ActivationFootprint {
    /// This footprint with `backward` more bytes held through its backward
    /// pass and `inference` more through its inference pass (buffers of other
    /// layers alive meanwhile).
    fileprivate func holding(backward: Int, inference: Int) -> ActivationFootprint {
        var footprint = self
        footprint.backwardPeakBytes += backward
        footprint.inferencePeakBytes += inference
        return footprint
    }
}
