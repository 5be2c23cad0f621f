import FrameSequencing

// The input of a closed-loop step, mixed per sequence from the true frame and
// the model's own prediction, and the mix's gradient into the prediction.

/// `m * truth + (1 - m) * prediction` per sequence `b` (`m = feedsTruth[b]`),
/// for (B, ...) frames of one shape.
func mixedFrames(truth: Tensor, prediction: Tensor, feedsTruth: [Float]) throws -> Tensor {
    try RecurrentError.requireShape(prediction, truth.dimensions, "Fed-back prediction")
    let per = truth.count / max(feedsTruth.count, 1)
    return try uninitializedTensor(truth.shape) { y in
        truth.withUnsafeBufferPointer { t in
            prediction.withUnsafeBufferPointer { p in
                for (b, m) in feedsTruth.enumerated() {
                    for i in b * per ..< (b + 1) * per { y[i] = m * t[i] + (1 - m) * p[i] }
                }
            }
        }
    }
}

/// `gradient + (1 - m) * inputGradient` per sequence `b`: a prediction's loss
/// gradient plus what flows back to it through the next step's mixed input.
func addingFedBack(_ inputGradient: Tensor, to gradient: Tensor, feedsTruth: [Float]) throws -> Tensor {
    try RecurrentError.requireShape(inputGradient, gradient.dimensions, "Gradient of a fed-back prediction")
    let per = gradient.count / max(feedsTruth.count, 1)
    return try uninitializedTensor(gradient.shape) { y in
        gradient.withUnsafeBufferPointer { g in
            inputGradient.withUnsafeBufferPointer { d in
                for (b, m) in feedsTruth.enumerated() {
                    for i in b * per ..< (b + 1) * per { y[i] = g[i] + (1 - m) * d[i] }
                }
            }
        }
    }
}
