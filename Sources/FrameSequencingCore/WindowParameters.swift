/// What a window is paired with, stated relative to the window's first frame `s`
/// (all counts in frames; `r` is the sampling rate and `T` the sequence length).
public enum WindowTarget: Sendable, Hashable {
    /// No target.
    case none
    /// Keras's alignment: the frame `s + offset`, exactly what
    /// `timeseries_dataset_from_array(data, targets=data[offset:], ...)` yields.
    /// `offset = T * r` is the frame after the window. Shape (windows, features).
    case offset(Int)
    /// The frame `steps` sampled steps after the window's last frame:
    /// `s + (T - 1 + steps) * r`. `steps: 1` is next-frame prediction. Shape (windows, features).
    case frameAfter(steps: Int)
    /// The `count` sampled frames after the window: `s + (T - 1 + j) * r` for
    /// `j` in `1...count`. Shape (windows, count, features).
    case nextFrames(count: Int)
    /// The window shifted by one sampled step (sequence to sequence):
    /// `s + (t + 1) * r` for `t` in `0..<T`. Shape (windows, T, features).
    case shifted
}

/// What to do with frames at the end of the series that do not fill a whole window.
public enum ShortWindowPolicy: Sendable, Hashable {
    /// Drop them, as Keras does.
    case drop
    /// Add the fewest windows needed to reach the last frame, filling their missing
    /// timesteps with `value`; a batch's mask and lengths mark the valid steps.
    /// Only for windows without a target.
    case padAndMask(value: Float)
}

/// The parameters of `keras.utils.timeseries_dataset_from_array`, plus a target
/// stated the way forecasters think and a policy for a short last window.
///
/// Window `i` reads frames `start + i * sequenceStride + t * samplingRate` for `t` in
/// `0..<sequenceLength`. Windows whose frames, or whose target, would reach past the
/// end are dropped (unless ``shortWindows`` pads them), so the count equals Keras's.
///
/// Where Keras is stricter than it needs to be, this goes further: `endIndex` may
/// equal the frame count (Keras requires it to be smaller), and a stride or sampling
/// rate at least the frame count is allowed (it yields a single window).
public struct WindowParameters: Sendable, Hashable {
    /// Timesteps per window (`T`), at least 1.
    public var sequenceLength: Int
    /// Frames between the starts of consecutive windows, at least 1.
    public var sequenceStride: Int
    /// Frames between consecutive timesteps of a window (`r`), at least 1.
    public var samplingRate: Int
    /// The first frame windows may read, or `nil` for 0.
    public var startIndex: Int?
    /// One past the last frame windows may read, or `nil` for the frame count.
    /// Targets of kind `.offset` may read past it, as in Keras; the others may not.
    public var endIndex: Int?
    /// What each window is paired with.
    public var target: WindowTarget
    /// What to do with a short last window.
    public var shortWindows: ShortWindowPolicy

    public init(
        sequenceLength: Int, sequenceStride: Int = 1, samplingRate: Int = 1,
        startIndex: Int? = nil, endIndex: Int? = nil,
        target: WindowTarget = .none, shortWindows: ShortWindowPolicy = .drop
    ) {
        self.sequenceLength = sequenceLength
        self.sequenceStride = sequenceStride
        self.samplingRate = samplingRate
        self.startIndex = startIndex
        self.endIndex = endIndex
        self.target = target
        self.shortWindows = shortWindows
    }

    /// Windows of `length` frames where consecutive windows share `overlap` frames
    /// (stride `length - overlap`). 50 frames, length 10, overlap 5 give 9 windows.
    public static func overlapping(
        length: Int, overlap: Int, target: WindowTarget = .none, shortWindows: ShortWindowPolicy = .drop
    ) throws -> WindowParameters {
        try FrameSequencingError.requireNonNegative(overlap, "overlap")
        guard overlap < length else {
            throw FrameSequencingError.invalidArgument(
                name: "overlap", expected: "less than the window length \(length)", actual: "\(overlap)")
        }
        return WindowParameters(sequenceLength: length, sequenceStride: length - overlap, target: target, shortWindows: shortWindows)
    }

    /// Back-to-back windows of `length` frames (stride `length`). 50 frames, length 10
    /// give 5 windows; 53 frames give 5, or 6 with `.padAndMask` (the last holding 3).
    public static func nonOverlapping(
        length: Int, target: WindowTarget = .none, shortWindows: ShortWindowPolicy = .drop
    ) -> WindowParameters {
        WindowParameters(sequenceLength: length, sequenceStride: length, target: target, shortWindows: shortWindows)
    }
}

/// The resolved geometry of windows over a series of `frameCount` frames: where
/// each window and target starts, and how many there are. Made once, validated, and
/// shared by every window view and batch.
struct WindowPlan: Sendable, Hashable {
    let length: Int         // T
    let stride: Int
    let rate: Int           // r
    let start: Int          // absolute first frame
    let end: Int            // absolute one-past-last frame windows may read
    let count: Int          // windows, including padded ones
    let fullCount: Int      // windows whose every timestep is valid
    let padValue: Float?
    // Target frames of window i: windowStart(i) + targetFirst + j * targetStep, j < targetSteps.
    let targetFirst: Int
    let targetSteps: Int    // 0 when there is no target
    let targetStep: Int
    let targetIsSequence: Bool

    init(_ p: WindowParameters, frameCount n: Int) throws {
        try FrameSequencingError.requirePositive(p.sequenceLength, "sequenceLength")
        try FrameSequencingError.requirePositive(p.sequenceStride, "sequenceStride")
        try FrameSequencingError.requirePositive(p.samplingRate, "samplingRate")
        let start = p.startIndex ?? 0
        let end = p.endIndex ?? n
        guard start >= 0 && start < n else {
            throw FrameSequencingError.invalidArgument(name: "startIndex", expected: "a value in 0..<\(n)", actual: "\(start)")
        }
        guard end > start && end <= n else {
            throw FrameSequencingError.invalidArgument(
                name: "endIndex", expected: "a value in \(start + 1)...\(n)", actual: "\(end)")
        }
        let (length, rate) = (p.sequenceLength, p.samplingRate)
        // Span of one window minus one, in frames; checked because T and r come from callers.
        let (lastStepIndex, o1) = (length - 1).multipliedReportingOverflow(by: rate)
        guard !o1, lastStepIndex < n else {
            throw FrameSequencingError.windowLongerThanData(required: o1 || lastStepIndex == Int.max ? Int.max : lastStepIndex + 1, available: end - start)
        }

        var (first, steps, step, isSequence, limit) = (0, 0, rate, false, end)
        switch p.target {
        case .none: break
        case .offset(let k):
            try FrameSequencingError.requireNonNegative(k, "target offset")
            (first, steps, limit) = (k, 1, n)
        case .frameAfter(let k):
            try FrameSequencingError.requirePositive(k, "target steps")
            let (ahead, overflow) = k.multipliedReportingOverflow(by: rate)
            guard !overflow, ahead < n else {
                throw FrameSequencingError.windowLongerThanData(required: n + 1, available: end - start)
            }
            (first, steps) = (lastStepIndex + ahead, 1)
        case .nextFrames(let k):
            try FrameSequencingError.requirePositive(k, "target frame count")
            let (span, overflow) = k.multipliedReportingOverflow(by: rate)
            guard !overflow, span < n else {
                throw FrameSequencingError.windowLongerThanData(required: n + 1, available: end - start)
            }
            (first, steps, isSequence) = (lastStepIndex + rate, k, true)
        case .shifted:
            (first, steps, isSequence) = (rate, length, true)
        }
        if steps > 0, case .padAndMask = p.shortWindows {
            throw FrameSequencingError.invalidArgument(
                name: "shortWindows", expected: ".drop when windows have a target", actual: ".padAndMask")
        }
        // Largest relative start p (a multiple of the stride or not) whose window and target fit.
        var lastStart = end - 1 - lastStepIndex - start
        if steps > 0 {
            let (span, o2) = (steps - 1).multipliedReportingOverflow(by: step)
            let (lastTarget, o3) = first.addingReportingOverflow(span)
            guard !o2, !o3, lastTarget < n else {
                throw FrameSequencingError.windowLongerThanData(
                    required: (o2 || o3 || lastTarget == Int.max) ? Int.max : lastTarget + 1, available: end - start)
            }
            lastStart = min(lastStart, limit - 1 - lastTarget - start)
        }
        let fullCount = lastStart < 0 ? 0 : lastStart / p.sequenceStride + 1

        var count = fullCount
        var padValue: Float? = nil
        if case .padAndMask(let value) = p.shortWindows {
            padValue = value
            // Windows up to the first whose span reaches the last frame, none starting past it.
            let reach = end - 1 - lastStepIndex - start
            let covering = ceilingDivide(reach, p.sequenceStride)
            let starting = ceilingDivide(end - start, p.sequenceStride)
            count = max(fullCount, min(covering + 1, starting))
        }
        guard count > 0 else {
            let extra = steps > 0 ? max(0, first + (steps - 1) * step - lastStepIndex) : 0
            throw FrameSequencingError.windowLongerThanData(required: lastStepIndex + 1 + extra, available: end - start)
        }
        self.length = length
        self.stride = p.sequenceStride
        self.rate = rate
        self.start = start
        self.end = end
        self.count = count
        self.fullCount = fullCount
        self.padValue = padValue
        self.targetFirst = first
        self.targetSteps = steps
        self.targetStep = step
        self.targetIsSequence = isSequence
    }

    /// The absolute first frame of window `i`.
    @inline(__always) func windowStart(_ i: Int) -> Int { start + i * stride }

    /// How many leading timesteps of window `i` hold frames (the rest are padding).
    @inline(__always) func validLength(_ i: Int) -> Int {
        if i < fullCount { return length }
        return min(length, ceilingDivide(end - windowStart(i), rate))
    }
}

/// `ceil(a / b)` for `b > 0`, 0 for `a <= 0`, without the overflow of `(a + b - 1) / b`.
@inline(__always) func ceilingDivide(_ a: Int, _ b: Int) -> Int {
    a <= 0 ? 0 : (a - 1) / b + 1
}
