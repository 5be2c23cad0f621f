import FrameSequencing

// The LSTM weights as the kernels read them: the one place their pointers are taken.

extension LSTMDirectionWeights {
    /// Calls `body` with pointers to the four tensors.
    func withPointers<R>(_ body: (LSTMWeightPointers) throws -> R) rethrows -> R {
        try inputWeights.withUnsafeBufferPointer { wi in
            try recurrentWeights.withUnsafeBufferPointer { wh in
                try inputBias.withUnsafeBufferPointer { bi in
                    try recurrentBias.withUnsafeBufferPointer { bh in
                        try body(LSTMWeightPointers(inputWeights: wi.baseAddress!, recurrentWeights: wh.baseAddress!,
                                                    inputBias: bi.baseAddress!, recurrentBias: bh.baseAddress!))
                    }
                }
            }
        }
    }

    /// Calls `body` with writable pointers to the four tensors (gradients).
    mutating func withMutablePointers<R>(
        _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                 UnsafeMutablePointer<Float>) throws -> R
    ) rethrows -> R {
        try inputWeights.withUnsafeMutableBufferPointer { wi in
            try recurrentWeights.withUnsafeMutableBufferPointer { wh in
                try inputBias.withUnsafeMutableBufferPointer { bi in
                    try recurrentBias.withUnsafeMutableBufferPointer { bh in
                        try body(wi.baseAddress!, wh.baseAddress!, bi.baseAddress!, bh.baseAddress!)
                    }
                }
            }
        }
    }
}
