import FrameSequencing

// The input of a closed-loop step, mixed per sequence from the true frame and
// the model's own prediction, and the mix's gradient into the prediction.

/// `m * truth + (1 - m) * prediction` per sequence `b` (`m = feedsTruth[b]`),
/// for (B, ...) frames of one shape.
func mixedFrames(truth: Tensor, prediction: Tensor, feedsTruth: [Float]) throws -> Tensor {
    try RecurrentError.requireShape(prediction, truth.dimensions, "Fed-back prediction")
    return try weightedRows(truth, feedsTruth, prediction, feedsTruth.map { 1 - $0 })
}

/// `gradient + (1 - m) * inputGradient` per sequence `b`: a prediction's loss
/// gradient plus what flows back to it through the next step's mixed input.
func addingFedBack(_ inputGradient: Tensor, to gradient: Tensor, feedsTruth: [Float]) throws -> Tensor {
    try RecurrentError.requireShape(inputGradient, gradient.dimensions, "Gradient of a fed-back prediction")
    return try weightedRows(gradient, [Float](repeating: 1, count: feedsTruth.count), inputGradient, feedsTruth.map { 1 - $0 })
}

/// `u[b] * x[b] + v[b] * y[b]` for each batch entry `b` of (B, ...) tensors of one shape.
private func weightedRows(_ x: Tensor, _ u: [Float], _ y: Tensor, _ v: [Float]) throws -> Tensor {
    let per = x.count / max(u.count, 1)
    return try uninitializedTensor(x.shape) { out in
        x.withUnsafeBufferPointer { x in
            y.withUnsafeBufferPointer { y in
                for b in u.indices {
                    for i in b * per ..< (b + 1) * per { out[i] = u[b] * x[i] + v[b] * y[i] }
                }
            }
        }
    }
}
