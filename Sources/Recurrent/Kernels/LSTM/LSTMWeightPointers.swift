import FrameSequencing

// The LSTM weights as the kernels read them: the one place their pointers are taken.
// An LSTM without biases holds empty bias tensors; the time loops read zeros
// for them (and write their gradients into scratch that is dropped), so every
// kernel keeps one signature.

extension LSTMDirectionWeights {
    /// Calls `body` with pointers to the four tensors; zeros ([4H]) for empty biases.
    func withPointers<R>(_ body: (LSTMWeightPointers) throws -> R) rethrows -> R {
        try withBiases(inputBias, recurrentBias) { bi, bh in
            try inputWeights.withUnsafeBufferPointer { wi in
                try recurrentWeights.withUnsafeBufferPointer { wh in
                    try body(LSTMWeightPointers(inputWeights: wi.baseAddress!, recurrentWeights: wh.baseAddress!,
                                                inputBias: bi, recurrentBias: bh))
                }
            }
        }
    }

    /// Calls `body` with writable pointers to the four tensors (gradients);
    /// scratch ([4H], dropped after) for empty biases.
    mutating func withMutablePointers<R>(
        _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                 UnsafeMutablePointer<Float>) throws -> R
    ) rethrows -> R {
        let gates = inputWeights.dimensions[0]
        guard inputBias.count > 0 else {
            return try withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * gates) { scratch in
                scratch.initialize(repeating: 0)
                return try inputWeights.withUnsafeMutableBufferPointer { wi in
                    try recurrentWeights.withUnsafeMutableBufferPointer { wh in
                        try body(wi.baseAddress!, wh.baseAddress!, scratch.baseAddress!, scratch.baseAddress! + gates)
                    }
                }
            }
        }
        return try inputWeights.withUnsafeMutableBufferPointer { wi in
            try recurrentWeights.withUnsafeMutableBufferPointer { wh in
                try inputBias.withUnsafeMutableBufferPointer { bi in
                    try recurrentBias.withUnsafeMutableBufferPointer { bh in
                        try body(wi.baseAddress!, wh.baseAddress!, bi.baseAddress!, bh.baseAddress!)
                    }
                }
            }
        }
    }

    /// Calls `body` with the two biases' pointers, or two zero vectors of 4H when they are empty.
    private func withBiases<R>(_ input: Tensor, _ recurrent: Tensor,
                               _ body: (UnsafePointer<Float>, UnsafePointer<Float>) throws -> R) rethrows -> R {
        guard input.count > 0 else {
            let gates = inputWeights.dimensions[0]
            return try withUnsafeTemporaryAllocation(of: Float.self, capacity: gates) { zeros in
                zeros.initialize(repeating: 0)
                return try body(UnsafePointer(zeros.baseAddress!), UnsafePointer(zeros.baseAddress!))
            }
        }
        return try input.withUnsafeBufferPointer { bi in
            try recurrent.withUnsafeBufferPointer { bh in try body(bi.baseAddress!, bh.baseAddress!) }
        }
    }
}
