// One LSTM direction's weights in the layouts its forward time loop reads,
// packed once, and the cache of them an LSTM keeps for inference.
//
// Legend as in LSTMSequence.swift: I input features, H hidden units, G = 4H.
//
// Packing per call cost the most where the weights are large and the work per
// call small: lstm.flat's 16 MB W_ih was packed on every forward pass (17.5% of
// it), and `LSTMStream.step` (one timestep per call) packed every layer's
// weights on every step. An LSTM keeps what its inference calls packed until
// its weights are written (`LSTM.layers`' observer drops the cache), so a
// packing is never used after the weights it came from have changed. Training
// packs per call: its weights change every step, and backward needs other
// layouts.

internal import CFrameKernels
import FrameSequencing
internal import FrameSequencingRuntime
import Synchronization

/// One direction's weights packed for the unpadded forward time loop of one
/// kernel path: on the fused paths [W_ih, W_hh] (or W_hh alone) for the steps
/// and W_ih^T when the input product runs over all rows first; on the Swift
/// path W_ih^T and W_hh^T. Immutable once built.
/// (`@unchecked`: its aligned raw buffers are written only while it is built,
/// before any other thread can see it, and only read after; the
/// ThreadSanitizer step of `.ci/run` runs LSTMPackedWeightsTests and
/// ConcurrentInferenceTests, threads sharing one packing, over it.)
final class LSTMPackedDirection: @unchecked Sendable {
    // @unchecked: raw pointers and `PackedMatrixB`s, written only in init and
    // then only read. The matrices' A-packing scratch (`multiply`) is never
    // used: only the in-place products, which use none, so threads may share them.
    // `.ci/run`'s ThreadSanitizer step runs concurrent first calls over one LSTM.

    let path: GEMMKernelPath
    /// Whether the fused steps do the input product (`lstmFusesInput`).
    let fusesInput: Bool
    /// Fused paths: `fsk_lstm_pack_forward`'s [groups][I or 0 + H][4][L].
    let stepWeights: UnsafeMutablePointer<Float>?
    /// Whether every weight of W_hh is finite (the fused forward may then skip
    /// a zero initial state's product).
    let recurrentFinite: Bool
    /// [G]: b_ih + b_hh.
    let bias: UnsafeMutablePointer<Float>
    /// op(B) = W_ih^T ([I, G]) for x W_ih^T over all rows, when packed for
    /// reuse; nil when the steps fuse it, or for one call (`lstmProduct` then
    /// packs it in `gemm`'s reused workspace instead of 16 MB of fresh pages).
    let inputWeights: PackedMatrixB?
    /// op(B) = W_hh^T ([H, G]) for the Swift path's steps; nil on the fused paths.
    let recurrentWeights: PackedMatrixB?

    /// Packs `w` for sequences of `g`'s sizes on `path` (only the sizes are read
    /// from `g`); W_ih^T only `forReuse`. Packing large weights is split over
    /// the worker pool.
    init(_ g: LSTMSequenceGeometry, weights w: LSTMWeightPointers, path: GEMMKernelPath, forReuse: Bool) {
        let packsInput = forReuse && !(path.lstmLanes != nil && lstmFusesInput(g))
        let (hidden, width) = (g.hiddenSize, g.gateWidth)
        self.path = path
        bias = UnsafeMutablePointer<Float>.allocate(capacity: width)
        for j in 0 ..< width { bias[j] = w.inputBias[j] + w.recurrentBias[j] }
        guard let lanes = path.lstmLanes else {
            fusesInput = false
            stepWeights = nil
            recurrentFinite = true
            inputWeights = packsInput ? PackedMatrixB(b: w.inputWeights, ldb: g.inputSize, transposed: true,
                                                      k: g.inputSize, n: width, maximumRows: 1, path: path) : nil
            recurrentWeights = PackedMatrixB(b: w.recurrentWeights, ldb: hidden, transposed: true, k: hidden,
                                             n: width, maximumRows: 1, path: path)
            return
        }
        fusesInput = lstmFusesInput(g)
        recurrentWeights = nil
        inputWeights = packsInput ? PackedMatrixB(b: w.inputWeights, ldb: g.inputSize, transposed: true,
                                                  k: g.inputSize, n: width, maximumRows: 1, path: path) : nil
        let inputs = fusesInput ? g.inputSize : 0
        let packed = alignedFloats(fsk_lstm_forward_packed_count(inputs, hidden, lanes))
        let groups = fsk_lstm_forward_groups(hidden, lanes)
        // 2 MB per layer on lstm.stacked: split over the pool when large.
        let parts = (inputs + hidden) * width >= 1 << 16 ? min(groups, WorkerPool.shared.threadCount) : 1
        recurrentFinite = withUnsafeTemporaryAllocation(of: Int32.self, capacity: parts) { finite in
            WorkerPool.shared.run(parts: parts) { part in
                let range = chunk(part, of: parts, count: groups)
                finite[part] = fsk_lstm_pack_forward(w.inputWeights, inputs, w.recurrentWeights, hidden, lanes, packed,
                                                     range.lowerBound, range.upperBound)
            }
            return !finite.contains(0)
        }
        stepWeights = packed
    }

    deinit {
        stepWeights?.deallocate()
        bias.deallocate()
    }

    /// `C = X W_ih^T` ([rows, G], beta 0), unless the steps fuse it: from the
    /// packed W_ih^T (row blocks over the pool while it fits in about half an
    /// L2 cache, else cache-blocked by column groups), or through `lstmProduct`.
    func inputProduct(_ g: LSTMSequenceGeometry, input: UnsafePointer<Float>, inputStride: Int,
                      weights w: LSTMWeightPointers, gates: UnsafeMutablePointer<Float>) {
        guard !fusesInput else { return }
        guard let inputWeights else {
            return lstmProduct(m: g.rows, n: g.gateWidth, k: g.inputSize, a: input, lda: inputStride,
                               b: w.inputWeights, transposeB: true, beta: 0, c: gates, ldc: g.gateWidth, path: path)
        }
        let rows = g.rows
        if inputWeights.k * inputWeights.n <= 1 << 17 {
            inputWeights.multiplyInPlaceThreaded(m: rows, a: input, lda: inputStride, beta: 0, c: gates,
                                                 ldc: inputWeights.n)
        } else {
            inputWeights.multiplyInPlaceBlocked(m: rows, a: input, lda: inputStride, beta: 0, c: gates,
                                                ldc: inputWeights.n)
        }
    }
}

/// An LSTM's packed weights for inference, per kernel path and layer-direction,
/// built by the first inference call that needs them. `LSTM.layers`' observer
/// replaces the whole cache whenever the weights are written, so a copy of the
/// LSTM shares it only while its weights are the same.
final class LSTMInferencePacking: Sendable {
    private let packed = Mutex<[GEMMKernelPath: [LSTMPackedDirection]]>([:])

    /// The packings of `lstm`'s layer-directions for `path` (index `layer *
    /// directions + direction`), packed on the first call; `geometry(index)`
    /// gives each one's sizes. Concurrent callers wait for one packing.
    func directions(for lstm: LSTM, path: GEMMKernelPath,
                    geometry: (Int) -> LSTMSequenceGeometry) -> [LSTMPackedDirection] {
        packed.withLock { cache in
            if let ready = cache[path] { return ready }
            let built = lstm.layers.indices.map { index in
                lstm.layers[index].withPointers {
                    LSTMPackedDirection(geometry(index), weights: $0, path: path, forReuse: true)
                }
            }
            cache[path] = built
            return built
        }
    }
}
