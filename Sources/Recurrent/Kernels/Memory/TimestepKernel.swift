import FrameSequencing

// Timesteps out of and into (B, T, ...) sequences for the forecasting loops:
// the one place their pointers are taken.

/// Timestep `t` of (B, T, ...) as (B, ...).
func timestep(_ x: Tensor, _ t: Int) throws -> Tensor {
    let (batch, steps) = (x.dimensions[0], x.dimensions[1])
    let per = x.count / max(batch * steps, 1)
    let frame = Shape([batch] + x.dimensions.dropFirst(2))
    return try uninitializedTensor(frame) { y in
        x.withUnsafeBufferPointer { source in
            for b in 0 ..< batch { (y + b * per).update(from: source.baseAddress! + (b * steps + t) * per, count: per) }
        }
    }
}

/// (B, K, ...) from K tensors (B, ...).
func stackTimesteps(_ steps: [Tensor]) throws -> Tensor {
    let first = steps[0]
    let batch = first.dimensions[0], per = first.count / max(batch, 1)
    let shape = Shape([batch, steps.count] + first.dimensions.dropFirst())
    return try uninitializedTensor(shape) { y in
        for (k, step) in steps.enumerated() {
            step.withUnsafeBufferPointer { source in
                for b in 0 ..< batch {
                    (y + (b * steps.count + k) * per).update(from: source.baseAddress! + b * per, count: per)
                }
            }
        }
    }
}
