/// The windows of a frame series: a lazy random-access collection of views.
///
/// Nothing is copied until a window, a batch or the whole set is asked for, so
/// 10-frame windows at stride 1 cost no more memory than the frames themselves.
/// Window `i` reads frames `start + i * stride + t * samplingRate`, `t` in
/// `0..<sequenceLength` (see ``WindowParameters``).
///
/// ```swift
/// let windows = try frames.windows(WindowParameters(sequenceLength: 10, target: .frameAfter(steps: 1)))
/// let first = try windows[0].inputs()          // (timesteps 10, features 4096)
/// let all = try windows.inputs()               // (batch, 10, 4096), materialized
/// ```
///
/// - Complexity: making the collection is O(1); each window view O(1); copying
///   a window is O(sequenceLength * features).
public struct FrameWindows: RandomAccessCollection, Sendable {
    /// The series the windows read.
    public let frames: FrameStack
    /// The parameters the windows were made with.
    public let parameters: WindowParameters
    /// The targets array of ``init(frames:parameters:targets:)``, (frames N, ...):
    /// row `s` is the target of the window whose first frame is `s`. `nil` when
    /// the targets, if any, are frames (``WindowParameters/target``).
    public let targetArray: Tensor?
    // The order of these fields does not matter. The crash once blamed on declaring
    // `targetArray` here was a stale incremental build, not the layout: see the
    // comment on `frameSequencing` in Package.swift.
    let plan: WindowPlan

    /// Windows over `frames`; throws for invalid parameters (non-positive sizes,
    /// indices outside the series) and `windowLongerThanData` when no window fits.
    public init(frames: FrameStack, parameters: WindowParameters) throws {
        self.frames = frames
        self.parameters = parameters
        self.targetArray = nil
        self.plan = try WindowPlan(parameters, frameCount: frames.count)
    }

    /// Windows over `frames` paired with rows of a separate `targets` array,
    /// Keras's `timeseries_dataset_from_array(data, targets, ...)`: the target of
    /// the window whose first frame is `s` is `targets[s]`, whatever the sampling
    /// rate, start and end (Keras slices `targets[start_index:end_index]` and
    /// takes the window's relative start; the absolute start is the same row).
    ///
    /// A row may have any shape: a scalar (`targets` (N)), a label vector (N, K),
    /// an image (N, H, W, C). Batches and ``targets(layout:limits:)`` hold
    /// (B, ...) rows in every layout. With ``ShortWindowPolicy/padAndMask(value:)``
    /// a padded window's target is the row of its first frame.
    ///
    /// Unlike Keras, the array must have exactly one row per frame: Keras takes
    /// another length, counts windows only up to it, and fails while iterating
    /// when `start_index` moves a window's row past its end. For targets that
    /// are the series' own later frames, use ``WindowTarget/offset(_:)``.
    ///
    /// - Parameters:
    ///   - targets: (frames N, ...) with N = `frames.count`; shared, not copied.
    /// - Throws: `shapeMismatch` when `targets` has rank 0 or a first axis other
    ///   than `frames.count`; `invalidArgument` when `parameters.target` is not
    ///   `.none` (the array replaces frame targets); what
    ///   ``init(frames:parameters:)`` throws.
    /// - Complexity: O(1); the array is shared until someone writes to it.
    public init(frames: FrameStack, parameters: WindowParameters, targets: Tensor) throws {
        guard targets.shape.rank >= 1, targets.dimensions[0] == frames.count else {
            throw FrameSequencingError.shapeMismatch(
                name: "The targets array (one row per frame, as Keras's targets=)",
                expected: ShapeRequirement([.size(frames.count)] + targets.dimensions.dropFirst().map { .size($0) }),
                actual: targets.dimensions)
        }
        guard parameters.target == .none else {
            throw FrameSequencingError.invalidArgument(
                name: "parameters.target", expected: ".none when a targets array is given (its rows are the targets)",
                actual: "\(parameters.target)")
        }
        self.frames = frames
        self.parameters = parameters
        self.targetArray = targets
        self.plan = try WindowPlan(parameters, frameCount: frames.count)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { plan.count }

    /// The view of window `position`. Traps when `position` is outside
    /// `indices`, like every `Collection` subscript; ``window(at:)`` throws instead.
    public subscript(position: Int) -> FrameWindow {
        precondition(position >= 0 && position < plan.count, "window index \(position) out of range 0..<\(plan.count)")
        return FrameWindow(windows: self, index: position)
    }

    /// The view of window `position`.
    ///
    /// - Throws: `indexOutOfRange` when `position` is outside `indices`.
    public func window(at position: Int) throws -> FrameWindow {
        guard position >= 0 && position < plan.count else {
            throw FrameSequencingError.indexOutOfRange(name: "Window", index: position, count: plan.count)
        }
        return FrameWindow(windows: self, index: position)
    }

    /// Timesteps per window (`T`).
    public var sequenceLength: Int { plan.length }
    /// Values per timestep (`height * width * channels`).
    public var featureCount: Int { frames.featureCount }
    /// Whether windows are paired with targets (frames or a targets array).
    public var hasTargets: Bool { plan.targetSteps > 0 || targetArray != nil }
    /// Whether some windows are padded (`.padAndMask` with a short last window).
    public var hasPadding: Bool { plan.count > plan.fullCount }

    /// All windows' inputs materialized in `layout`: (B, T, F), (T, B, F) or (B, T, H, W, C).
    ///
    /// - Throws: `exceedsMemoryLimit`, before allocating, when the tensor would
    ///   take more than `limits` (the process-wide ``FileReadLimits/default``
    ///   unless given); the message gives the bytes it would take and points to
    ///   ``batches(size:shuffleSeed:keepShortLastBatch:)``. `sizeOverflow` when
    ///   the size does not fit in `Int`.
    /// - Complexity: O(count * sequenceLength * features) time and memory; use
    ///   ``batches(size:shuffleSeed:keepShortLastBatch:)`` to stay within a batch.
    public func inputs(layout: SequenceLayout = .batchMajor, limits: FileReadLimits = .default) throws -> Tensor {
        try materialize(Array(indices), selection: .inputs(plan), layout: layout, steps: plan.length, limits: limits)
    }

    /// All windows' targets materialized in `layout`, or `nil` without a target.
    /// Single-frame targets are (B, F), or (B, H, W, C) when spatial; sequence targets
    /// are (B, S, F), (S, B, F) or (B, S, H, W, C); rows of a ``targetArray`` of
    /// shape (N, ...) are (B, ...) in every layout.
    ///
    /// - Throws: as ``inputs(layout:limits:)``.
    public func targets(layout: SequenceLayout = .batchMajor, limits: FileReadLimits = .default) throws -> Tensor? {
        guard hasTargets else { return nil }
        if let targetArray {
            let all = Array(indices)
            return try Tensor(shape: rowShape(of: targetArray, batch: all.count), limits: limits,
                              hint: materializingHint(all.count)) { destination in
                fillRows(windows: all, plan: plan, rows: targetArray, destination: destination)
            }
        }
        return try materialize(Array(indices), selection: .targets(plan), layout: layout, steps: targetSteps, limits: limits)
    }

    /// The number of valid (unpadded) timesteps of every window.
    public var lengths: [Int] { indices.map(plan.validLength) }

    /// Batches of these windows, in order or shuffled with a seed.
    ///
    /// - Parameters:
    ///   - size: windows per batch, at least 1.
    ///   - shuffleSeed: when given, the window order is a seeded permutation
    ///     (the same seed gives the same order on every platform), the same for
    ///     every pass over the batches; for a new order each pass, use
    ///     ``batches(size:shuffleSeed:pass:keepShortLastBatch:)``.
    ///   - keepShortLastBatch: keep (default, as Keras does) or drop a last batch
    ///     with fewer than `size` windows.
    /// - Throws: `invalidArgument` for a size below 1, and when dropping the
    ///   short last batch leaves no batch (fewer windows than `size`): an epoch
    ///   of no batch trains nothing and has no mean loss, so it is refused where
    ///   PyTorch's `DataLoader(drop_last=True)` silently yields nothing. No
    ///   batch is ever empty.
    public func batches(size: Int, shuffleSeed: UInt64? = nil, keepShortLastBatch: Bool = true) throws -> WindowBatches {
        try WindowBatches(windows: self, size: size, shuffleSeed: shuffleSeed, keepShortLastBatch: keepShortLastBatch)
    }

    /// Batches of only the windows numbered `subset` (for example the last fifth
    /// as a validation split), otherwise as ``batches(size:shuffleSeed:keepShortLastBatch:)``.
    ///
    /// - Throws: `indexOutOfRange` for a range outside `0 ..< count`;
    ///   `invalidArgument` for an empty range (it has no batches; PyTorch's
    ///   shuffling sampler refuses an empty dataset too); what the other form throws.
    public func batches(of subset: Range<Int>, size: Int, shuffleSeed: UInt64? = nil,
                        keepShortLastBatch: Bool = true) throws -> WindowBatches {
        try WindowBatches(windows: self, size: size, shuffleSeed: shuffleSeed, keepShortLastBatch: keepShortLastBatch,
                          subset: subset)
    }

    /// The batches of pass (epoch) `pass` when every pass is shuffled anew, as
    /// Keras's dataset with `shuffle=True` and PyTorch's `DataLoader(shuffle=True)`
    /// reshuffle each time they are iterated: the order is the permutation
    /// seeded by ``SeededGenerator/passSeed(_:pass:)`` of `(shuffleSeed, pass)`.
    ///
    /// Each pass holds every window exactly once (with `keepShortLastBatch`),
    /// passes differ from each other, and the same `(shuffleSeed, pass)` gives
    /// the same order on every platform, with no state carried from pass to
    /// pass: a run resumed at pass `k` makes pass `k`'s order again.
    ///
    /// ```swift
    /// for pass in 0 ..< epochs {
    ///     let batches = try windows.batches(size: 8, shuffleSeed: 42, pass: pass)
    ///     // fill and train as with any batches
    /// }
    /// ```
    ///
    /// - Throws: `invalidArgument` for a negative `pass`; what
    ///   ``batches(size:shuffleSeed:keepShortLastBatch:)`` throws.
    /// - Complexity: O(count) for the order.
    public func batches(size: Int, shuffleSeed: UInt64, pass: Int, keepShortLastBatch: Bool = true) throws -> WindowBatches {
        try FrameSequencingError.requireNonNegative(pass, "pass")
        return try batches(size: size, shuffleSeed: SeededGenerator.passSeed(shuffleSeed, pass: pass),
                           keepShortLastBatch: keepShortLastBatch)
    }

    /// The batches of pass `pass` over only the windows numbered `subset`, as
    /// ``batches(size:shuffleSeed:pass:keepShortLastBatch:)``.
    ///
    /// - Throws: `invalidArgument` for a negative `pass`; what
    ///   ``batches(of:size:shuffleSeed:keepShortLastBatch:)`` throws.
    public func batches(of subset: Range<Int>, size: Int, shuffleSeed: UInt64, pass: Int,
                        keepShortLastBatch: Bool = true) throws -> WindowBatches {
        try FrameSequencingError.requireNonNegative(pass, "pass")
        return try batches(of: subset, size: size, shuffleSeed: SeededGenerator.passSeed(shuffleSeed, pass: pass),
                           keepShortLastBatch: keepShortLastBatch)
    }

    /// Steps per target: nil for a single-frame target, else the sequence length of the target.
    var targetSteps: Int? { plan.targetIsSequence ? plan.targetSteps : nil }

    /// The sequences `selection` picks from `windows`, in `layout`, checked
    /// against `limits` before anything is allocated.
    func materialize(_ windows: [Int], selection: SequenceSelection, layout: SequenceLayout, steps: Int?,
                     limits: FileReadLimits = .default) throws -> Tensor {
        let shape = layout.shape(batch: windows.count, steps: steps, frame: frames.frameShape)
        return try Tensor(shape: shape, limits: limits, hint: materializingHint(windows.count)) { destination in
            frames.withUnsafeSource { source in
                fillSequences(windows: windows, plan: plan, selection: selection, source: source,
                              layout: layout, destination: destination)
            }
        }
    }

    /// Why materializing `count` windows was refused, and what to do instead.
    func materializingHint(_ count: Int) -> String {
        "materializing \(count) windows of \(sequenceLength) timesteps x \(featureCount) features at once is above "
            + "the memory ceiling; iterate over lazy batches instead (windows.batches(size:) with "
            + "WindowBatches.fill(_:into:) keeps one batch in memory), or raise FileReadLimits.default "
            + "if the machine has the memory"
    }
}

/// One window of a ``FrameWindows`` collection: which frames it reads, copied
/// only when asked.
public struct FrameWindow: Sendable {
    let windows: FrameWindows
    /// The window's position in its collection.
    public let index: Int

    /// The absolute frame indices the window reads, one per valid timestep.
    ///
    /// Counted by timestep rather than as a stride to a bound one step past the
    /// last frame: with a sampling rate near `Int.max` (allowed for one-step
    /// windows) that bound would not fit in `Int`.
    public var frameIndices: [Int] {
        let plan = windows.plan
        let start = plan.windowStart(index)
        return (0 ..< plan.validLength(index)).map { start + $0 * plan.rate }
    }

    /// The row of ``FrameWindows/targetArray`` paired with the window: its first
    /// frame, Keras's alignment. `nil` without a targets array.
    public var targetRow: Int? {
        windows.targetArray == nil ? nil : windows.plan.windowStart(index)
    }

    /// The absolute frame indices of the target, empty without a target or when
    /// the target is a row of a targets array (see ``targetRow``).
    public var targetFrameIndices: [Int] {
        let plan = windows.plan
        let first = plan.windowStart(index) + plan.targetFirst
        return (0 ..< plan.targetSteps).map { first + $0 * plan.targetStep }
    }

    /// The number of timesteps holding frames; the rest (if any) are padding.
    public var validLength: Int { windows.plan.validLength(index) }

    /// The window's frames as (T, F), or (T, H, W, C) for `.spatial` (a window
    /// has no batch axis, so `.timeMajor` gives (T, F) too).
    public func inputs(layout: SequenceLayout = .batchMajor) throws -> Tensor {
        try single(windows.materialize([index], selection: .inputs(windows.plan),
                                       layout: layout == .spatial ? .spatial : .batchMajor, steps: windows.plan.length))
    }

    /// The window's target: (F) or (S, F); for `.spatial`, (H, W, C) or (S, H, W, C);
    /// its row of a targets array, of the row's shape (a view, no copy), in
    /// every layout. `nil` without a target.
    public func target(layout: SequenceLayout = .batchMajor) throws -> Tensor? {
        guard windows.hasTargets else { return nil }
        if let array = windows.targetArray, let row = targetRow {
            let view = try array.slice(row ..< row + 1)
            return try view.reshaped(to: Shape(Array(array.dimensions.dropFirst()), names: array.shape.names.map { Array($0.dropFirst()) }))
        }
        return try single(windows.materialize([index], selection: .targets(windows.plan),
                                              layout: layout == .spatial ? .spatial : .batchMajor, steps: windows.targetSteps))
    }

    /// The window's frames; `spatial` is `layout: .spatial`.
    @available(*, deprecated, renamed: "inputs(layout:)")
    public func inputs(spatial: Bool) throws -> Tensor { try inputs(layout: spatial ? .spatial : .batchMajor) }

    /// The window's target; `spatial` is `layout: .spatial`.
    @available(*, deprecated, renamed: "target(layout:)")
    public func target(spatial: Bool) throws -> Tensor? { try target(layout: spatial ? .spatial : .batchMajor) }

    /// A batch of one without its batch axis (a reshape, no copy).
    private func single(_ batch: Tensor) throws -> Tensor {
        try batch.reshaped(to: Shape(Array(batch.dimensions.dropFirst()), names: batch.shape.names.map { Array($0.dropFirst()) }))
    }
}

extension FrameStack {
    /// Windows over these frames (see ``WindowParameters``).
    public func windows(_ parameters: WindowParameters) throws -> FrameWindows {
        try FrameWindows(frames: self, parameters: parameters)
    }

    /// Windows over these frames paired with rows of `targets` (N, ...), as
    /// Keras's `timeseries_dataset_from_array(data, targets, ...)`: see
    /// ``FrameWindows/init(frames:parameters:targets:)``.
    public func windows(_ parameters: WindowParameters, targets: Tensor) throws -> FrameWindows {
        try FrameWindows(frames: self, parameters: parameters, targets: targets)
    }

    /// The whole series as one sequence: N frames give one window of N timesteps,
    /// (1, N, F) when materialized.
    public func wholeSequence() throws -> FrameWindows {
        try FrameWindows(frames: self, parameters: WindowParameters(sequenceLength: count))
    }
}
