// One GRU direction's weights in the layouts its forward time loop reads,
// packed once, and the cache of them a GRU keeps for inference (as the
// LSTM's, LSTMPackedWeights.swift: `GRU.layers`' observer drops the cache
// whenever the weights are written; training packs per call).
//
// Legend as in GRUSequence.swift: I input features, H hidden units, G = 3H.

internal import CFrameKernels
import FrameSequencing
import Synchronization

/// One direction's weights packed for the forward time loop of one kernel
/// path: the step biases; W_hh for the fused C steps
/// (`fsk_gru_pack_forward`) or, on the Swift path and for padded batches, as
/// `PackedMatrixB`s of W_hh^T; W_ih^T when packed for reuse. Immutable once built.
final class GRUPackedDirection: @unchecked Sendable {
    // @unchecked: raw pointers and `PackedMatrixB`s written only in init, then
    // only read; only their in-place products (no scratch) are used.

    let path: GEMMKernelPath
    /// `GRUStepBiases` of the direction.
    let biases: GRUStepBiases
    /// Fused paths, unpadded batches: `fsk_gru_pack_forward`'s [groups][H][3][L].
    let stepWeights: UnsafeMutablePointer<Float>?
    /// op(B) = W_ih^T ([I, G]) when packed for reuse; nil for one call.
    let inputWeights: PackedMatrixB?
    /// The Swift steps' op(B)s: W_hh^T ([H, G]) with resetAfter, else its
    /// (r, z) columns ([H, 2H]) and its n columns ([H, H]).
    private let recurrent: (all: PackedMatrixB?, resetUpdate: PackedMatrixB?, new: PackedMatrixB?)

    /// Packs `w` for sequences of `g`'s sizes on `path` (only sizes and the
    /// reset placement are read from `g`): for the fused steps when `fused`
    /// (and the path has them), else for the Swift steps; W_ih^T only `forReuse`.
    init(_ g: GRUSequenceGeometry, weights w: GRUWeightPointers, path: GEMMKernelPath, forReuse: Bool, fused: Bool = true) {
        let (hidden, width) = (g.hiddenSize, g.gateWidth)
        self.path = path
        biases = GRUStepBiases(g, weights: w)
        inputWeights = forReuse ? PackedMatrixB(b: w.inputWeights, ldb: g.inputSize, transposed: true, k: g.inputSize,
                                                n: width, maximumRows: 1, path: path) : nil
        if fused, let lanes = path.lstmLanes {
            let packed = alignedFloats(fsk_gru_forward_packed_count(hidden, lanes))
            _ = fsk_gru_pack_forward(w.recurrentWeights, hidden, lanes, packed)
            stepWeights = packed
            recurrent = (nil, nil, nil)
            return
        }
        stepWeights = nil
        func packed(_ rows: Int, from first: Int) -> PackedMatrixB {
            PackedMatrixB(b: w.recurrentWeights + first * hidden, ldb: hidden, transposed: true, k: hidden, n: rows,
                          maximumRows: 1, path: path)
        }
        recurrent = g.resetAfter ? (packed(width, from: 0), nil, nil)
                                 : (nil, packed(2 * hidden, from: 0), packed(hidden, from: 2 * hidden))
    }

    deinit {
        stepWeights?.deallocate()
        biases.deallocate()
    }

    /// The Swift steps' products (built only without fused steps).
    func recurrentProducts(_ g: GRUSequenceGeometry) -> (all: PackedMatrixB?, resetUpdate: PackedMatrixB?, new: PackedMatrixB?) {
        precondition(stepWeights == nil, "GRUPackedDirection: packed for the fused steps, not the Swift ones")
        return recurrent
    }

    /// `C = X W_ih^T` ([rows, G], beta 0): from the packed W_ih^T (row blocks
    /// over the pool while it fits in about half an L2 cache, else
    /// cache-blocked by column groups), or through `lstmProduct`.
    func inputProduct(_ g: GRUSequenceGeometry, input: UnsafePointer<Float>, inputStride: Int,
                      weights w: GRUWeightPointers, gates: UnsafeMutablePointer<Float>) {
        guard let inputWeights else {
            return lstmProduct(m: g.rows, n: g.gateWidth, k: g.inputSize, a: input, lda: inputStride,
                               b: w.inputWeights, transposeB: true, beta: 0, c: gates, ldc: g.gateWidth, path: path)
        }
        if inputWeights.k * inputWeights.n <= 1 << 17 {
            inputWeights.multiplyInPlaceThreaded(m: g.rows, a: input, lda: inputStride, beta: 0, c: gates, ldc: g.gateWidth)
        } else {
            inputWeights.multiplyInPlaceBlocked(m: g.rows, a: input, lda: inputStride, beta: 0, c: gates, ldc: g.gateWidth)
        }
    }
}

/// A GRU's packed weights for inference on unpadded batches, per kernel path
/// and layer-direction, built by the first inference call that needs them.
final class GRUInferencePacking: Sendable {
    private let packed = Mutex<[GEMMKernelPath: [GRUPackedDirection]]>([:])

    /// The packings of `gru`'s layer-directions for `path` (index `layer *
    /// directions + direction`), packed on the first call; `geometry(index)`
    /// gives each one's sizes. Concurrent callers wait for one packing.
    func directions(for gru: GRU, path: GEMMKernelPath,
                    geometry: (Int) -> GRUSequenceGeometry) -> [GRUPackedDirection] {
        packed.withLock { cache in
            if let ready = cache[path] { return ready }
            let built = gru.layers.indices.map { index in
                gru.layers[index].withPointers {
                    GRUPackedDirection(geometry(index), weights: $0, path: path, forReuse: true)
                }
            }
            cache[path] = built
            return built
        }
    }
}

// A GRU without biases holds empty bias tensors; the time loops read zeros
// for them (and write their gradients into scratch that is dropped), so every
// kernel keeps one signature, as the LSTM's do.
extension GRUDirectionWeights {
    /// Calls `body` with pointers to the four tensors: the one place the kernels
    /// take them; zeros ([3H]) for empty biases.
    func withPointers<R>(_ body: (GRUWeightPointers) throws -> R) rethrows -> R {
        try withBiases { bi, bh in
            try inputWeights.withUnsafeBufferPointer { wi in
                try recurrentWeights.withUnsafeBufferPointer { wh in
                    try body(GRUWeightPointers(inputWeights: wi.baseAddress!, recurrentWeights: wh.baseAddress!,
                                               inputBias: bi, recurrentBias: bh))
                }
            }
        }
    }

    /// Calls `body` with the two biases' pointers, or one zero vector of 3H for both when they are empty.
    private func withBiases<R>(_ body: (UnsafePointer<Float>, UnsafePointer<Float>) throws -> R) rethrows -> R {
        guard inputBias.count > 0 else {
            return try withUnsafeTemporaryAllocation(of: Float.self, capacity: inputWeights.dimensions[0]) { zeros in
                zeros.initialize(repeating: 0)
                return try body(UnsafePointer(zeros.baseAddress!), UnsafePointer(zeros.baseAddress!))
            }
        }
        return try inputBias.withUnsafeBufferPointer { bi in
            try recurrentBias.withUnsafeBufferPointer { bh in try body(bi.baseAddress!, bh.baseAddress!) }
        }
    }

    /// Calls `body` with writable pointers to the four tensors (gradients);
    /// scratch ([3H] each, dropped after) for empty biases.
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
}
