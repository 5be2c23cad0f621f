internal import FrameSequencingRuntime

/// How a batch of sequences is laid out in memory.
///
/// With `B` windows, `T` timesteps and frames of (H, W, C) (`F = H * W * C`):
public enum SequenceLayout: Sendable, Hashable {
    /// (B, T, F): PyTorch `batch_first=True`, Keras.
    case batchMajor
    /// (T, B, F): PyTorch's default `batch_first=False`.
    case timeMajor
    /// (B, T, H, W, C): for convolutional recurrent layers. Same memory order as `batchMajor`.
    case spatial

    /// The shape of `batch` sequences of `steps` frames; `steps == nil` is a single
    /// frame per sequence ((B, F), or (B, H, W, C) when spatial).
    func shape(batch: Int, steps: Int?, frame: FrameShape) -> Shape {
        let f = frame.featureCount
        guard let steps else {
            if self == .spatial {
                return Shape([batch, frame.height, frame.width, frame.channels], names: ["batch", "height", "width", "channels"])
            }
            return Shape([batch, f], names: ["batch", "features"])
        }
        switch self {
        case .batchMajor: return Shape([batch, steps, f], names: ["batch", "timesteps", "features"])
        case .timeMajor: return Shape([steps, batch, f], names: ["timesteps", "batch", "features"])
        case .spatial:
            return Shape([batch, steps, frame.height, frame.width, frame.channels],
                         names: ["batch", "timesteps", "height", "width", "channels"])
        }
    }
}

/// Which frames one sequence of a batch reads: `steps` timesteps at
/// `windowStart + first + t * step`, of which the first `valid` exist and the rest
/// are `padValue`.
struct SequenceSelection: Sendable {
    let first: Int
    let steps: Int
    let step: Int

    static func inputs(_ plan: WindowPlan) -> SequenceSelection {
        SequenceSelection(first: 0, steps: plan.length, step: plan.rate)
    }

    static func targets(_ plan: WindowPlan) -> SequenceSelection {
        SequenceSelection(first: plan.targetFirst, steps: plan.targetSteps, step: plan.targetStep)
    }
}

/// Below this many Float32 values (256 KB) a fill runs on the calling thread: even
/// a spinning worker costs more than it saves for smaller copies.
let parallelFillThreshold = 1 << 16

/// Copies the selected frames of `windows` (window numbers of `plan`) into
/// `destination` in `layout`. Overwrites `destination[0 ..< windows.count * steps * F]`.
///
/// Work is split over `(window, timestep)` pairs, so both cores help even for a
/// single long window; runs of consecutive frames are copied with one call.
func fillSequences(
    windows: [Int], plan: WindowPlan, selection: SequenceSelection, source: FrameSource,
    layout: SequenceLayout, destination: UnsafeMutablePointer<Float>
) {
    let f = source.featureCount
    let batch = windows.count
    let steps = selection.steps
    let total = batch * steps
    let isPadded = plan.padValue != nil && selection.first == 0

    // Copies (window, timestep) pairs lo..<hi, flattened window-major. Not
    // @Sendable: the pool's parts share it (and the pointers it captures) only
    // while `run` waits for them, and write disjoint ranges of `destination`.
    let work: (Int, Int) -> Void = { lo, hi in
        var pair = lo
        while pair < hi {
            let b = pair / steps
            let t = pair % steps
            let window = windows[b]
            let valid = isPadded ? plan.validLength(window) : steps
            let frame = plan.windowStart(window) + selection.first + t * selection.step
            if t >= valid {
                // Padding: one timestep of the pad value.
                let at = layout == .timeMajor ? (t * batch + b) * f : (b * steps + t) * f
                (destination + at).update(repeating: plan.padValue ?? 0, count: f)
                pair += 1
            } else if layout != .timeMajor && selection.step == 1 {
                // Consecutive source frames land consecutively: one copy for the run.
                let run = min(valid, steps, t + (hi - pair)) - t
                source.copyFrames(from: frame, count: run, to: destination + (b * steps + t) * f)
                pair += run
            } else {
                let at = layout == .timeMajor ? (t * batch + b) * f : (b * steps + t) * f
                source.copyFrames(from: frame, count: 1, to: destination + at)
                pair += 1
            }
        }
    }

    let values = total * f
    guard values >= parallelFillThreshold, total > 1 else {
        work(0, total)
        return
    }
    // A few parts per thread, claimed dynamically, so a late-waking worker costs nothing.
    let parts = min(total, WorkerPool.shared.threadCount * 4)
    WorkerPool.shared.run(parts: parts) { part in
        work(total * part / parts, total * (part + 1) / parts)
    }
}

/// Writes the (B, T) mask of `windows`: 1 for timesteps holding a frame, 0 for padding.
func fillMask(windows: [Int], plan: WindowPlan, destination: UnsafeMutablePointer<Float>) {
    for (b, window) in windows.enumerated() {
        let valid = plan.validLength(window)
        for t in 0 ..< plan.length {
            destination[b * plan.length + t] = t < valid ? 1 : 0
        }
    }
}

/// The shape of `batch` rows of a targets array (N, ...): (B, ...), the row's
/// axis names kept after "batch".
func rowShape(of targets: Tensor, batch: Int) -> Shape {
    Shape([batch] + targets.dimensions.dropFirst(), names: targets.shape.names.map { ["batch"] + $0.dropFirst() })
}

/// Copies the targets-array row of each of `windows` (window numbers of `plan`;
/// the row of a window is its first frame) into `destination`, one after the
/// other. Overwrites `destination[0 ..< windows.count * rowSize]`.
///
/// Rows are small (a label, a frame at most), so this runs on the calling thread.
func fillRows(windows: [Int], plan: WindowPlan, rows: Tensor, destination: UnsafeMutablePointer<Float>) {
    let rowSize = rows.dimensions[0] == 0 ? 0 : rows.count / rows.dimensions[0]
    guard rowSize > 0 else { return }
    rows.withUnsafeBufferPointer { source in
        for (b, window) in windows.enumerated() {
            (destination + b * rowSize).update(from: source.baseAddress! + plan.windowStart(window) * rowSize, count: rowSize)
        }
    }
}
