/// Windows grouped into batches: a random-access collection whose elements are
/// the window numbers of each batch, and fills of those batches into reusable
/// buffers.
///
/// ```swift
/// let batches = try windows.batches(size: 8, shuffleSeed: 42)
/// var batch = try batches.makeBuffer(layout: .batchMajor)   // allocated once
/// for index in batches.indices {
///     try batches.fill(index, into: &batch)                 // no allocation
///     train(batch.inputs, batch.targets)
/// }
/// ```
///
/// Memory stays at the frames plus one buffer whatever the number of windows.
/// For a new order on every pass (epoch), make each pass's batches with
/// ``FrameWindows/batches(size:shuffleSeed:pass:keepShortLastBatch:)``; the
/// buffer of one pass fits every other.
///
/// - Complexity: making the batches is O(window count) for the order; each fill is
///   O(batch size * timesteps * features), split over both cores when large.
public struct WindowBatches: RandomAccessCollection, Sendable {
    /// The windows being batched.
    public let windows: FrameWindows
    /// Windows per full batch.
    public let batchSize: Int
    /// Window numbers in batch order (a seeded permutation when shuffled).
    public let order: [Int]
    private let batchCount: Int

    init(windows: FrameWindows, size: Int, shuffleSeed: UInt64?, keepShortLastBatch: Bool, subset: Range<Int>? = nil) throws {
        try FrameSequencingError.requirePositive(size, "batch size")
        if let subset, subset.lowerBound < 0 || subset.upperBound > windows.count {
            throw FrameSequencingError.indexOutOfRange(name: "Window range \(subset)",
                index: subset.lowerBound < 0 ? subset.lowerBound : subset.upperBound, count: windows.count)
        }
        if let subset, subset.isEmpty {
            throw FrameSequencingError.invalidArgument(
                name: "window range", expected: "a non-empty range of 0..<\(windows.count) (an empty one has no batches)",
                actual: "\(subset)")
        }
        var order = Array(subset ?? windows.indices)
        if let seed = shuffleSeed {
            var generator = SeededGenerator(seed: seed)
            generator.shuffle(&order)
        }
        let count = keepShortLastBatch ? ceilingDivide(order.count, size) : order.count / size
        guard count > 0 else {
            throw FrameSequencingError.invalidArgument(
                name: "batch size", expected: "at most \(order.count) windows when the short last batch is dropped",
                actual: "\(size)")
        }
        self.windows = windows
        self.batchSize = size
        self.order = order
        self.batchCount = count
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { batchCount }

    /// The window numbers of batch `position`. Traps outside `indices`, like every
    /// `Collection` subscript; ``windowIndices(ofBatch:)`` throws instead.
    public subscript(position: Int) -> ArraySlice<Int> {
        precondition(position >= 0 && position < batchCount, "batch index \(position) out of range 0..<\(batchCount)")
        return order[position * batchSize ..< Swift.min(order.count, (position + 1) * batchSize)]
    }

    /// The window numbers of batch `position`.
    ///
    /// - Throws: `indexOutOfRange` when `position` is outside `indices`.
    public func windowIndices(ofBatch position: Int) throws -> ArraySlice<Int> {
        guard position >= 0 && position < batchCount else {
            throw FrameSequencingError.indexOutOfRange(name: "Batch", index: position, count: batchCount)
        }
        return order[position * batchSize ..< Swift.min(order.count, (position + 1) * batchSize)]
    }

    /// A buffer able to hold any batch of this collection in `layout`.
    ///
    /// Throws `exceedsMemoryLimit`, before allocating, when the inputs, targets
    /// and mask of one batch would take more than ``FileReadLimits/default``.
    public func makeBuffer(layout: SequenceLayout = .batchMajor) throws -> WindowBatch {
        // No batch holds more than every window: a huge batch size allocates no more.
        try WindowBatch(capacity: Swift.min(batchSize, windows.count), windows: windows, layout: layout)
    }

    /// The shapes of ``makeBuffer(layout:)``'s inputs and targets (nil without
    /// targets) and the bytes of the whole buffer (mask included), without
    /// allocating it: what a memory planner counts.
    public func bufferShapes(layout: SequenceLayout = .batchMajor) -> (inputs: [Int], targets: [Int]?, bytes: Int) {
        let shapes = WindowBatch.shapes(capacity: Swift.min(batchSize, windows.count), windows: windows, layout: layout)
        let floats = [shapes.inputs, shapes.targets, shapes.mask].compactMap { $0?.checkedElementCount }
            .reduce(0) { $0.addingReportingOverflow($1).overflow ? Int.max : $0 + $1 }
        return (shapes.inputs.dimensions, shapes.targets?.dimensions,
                floats.multipliedReportingOverflow(by: MemoryLayout<Float>.stride).overflow ? Int.max : floats * 4)
    }

    /// Fills batch `index` into `buffer`, reusing its storage (it grows if it was
    /// made for smaller batches). After the call the buffer's tensors have the
    /// batch's actual size (a short last batch gives a smaller leading axis).
    ///
    /// Throws `indexOutOfRange` for an index outside `indices`.
    public func fill(_ index: Int, into buffer: inout WindowBatch) throws {
        guard index >= 0 && index < batchCount else {
            throw FrameSequencingError.indexOutOfRange(name: "Batch", index: index, count: batchCount)
        }
        try buffer.fill(windows: Array(self[index]), from: windows)
    }

    /// The window numbers of share `share` of batch `position` cut into `shares`
    /// contiguous shares of `ceil(count / shares)` windows: what rank `share` of
    /// a data-parallel run of `shares` processes trains of that batch. The last
    /// shares of a short batch can be empty.
    ///
    /// - Parameters:
    ///   - position: The batch.
    ///   - share: Which share, from 0.
    ///   - shares: How many shares the batch is cut into.
    /// - Throws: `indexOutOfRange` when `position` is outside `indices` or
    ///   `share` outside `0..<shares`; `invalidArgument` when `shares` is not positive.
    public func windowIndices(ofBatch position: Int, share: Int, of shares: Int) throws -> ArraySlice<Int> {
        try FrameSequencingError.requirePositive(shares, "share count")
        guard share >= 0 && share < shares else {
            throw FrameSequencingError.indexOutOfRange(name: "Share", index: share, count: shares)
        }
        let batch = try windowIndices(ofBatch: position)
        let per = ceilingDivide(batch.count, shares)
        let start = Swift.min(batch.startIndex + share * per, batch.endIndex)
        return batch[start ..< Swift.min(start + per, batch.endIndex)]
    }

    /// Fills share `share` of batch `index` (``windowIndices(ofBatch:share:of:)``)
    /// into `buffer`, which ``makeBuffer(layout:shares:)`` sized for it.
    ///
    /// - Parameters:
    ///   - index: The batch.
    ///   - share: Which share, from 0.
    ///   - shares: How many shares the batch is cut into.
    ///   - buffer: The buffer to fill.
    /// - Throws: as ``windowIndices(ofBatch:share:of:)``; `invalidArgument` when
    ///   the share is empty (a buffer never holds an empty batch).
    public func fill(_ index: Int, share: Int, of shares: Int, into buffer: inout WindowBatch) throws {
        let selected = try windowIndices(ofBatch: index, share: share, of: shares)
        guard !selected.isEmpty else {
            throw FrameSequencingError.invalidArgument(name: "share \(share) of batch \(index)",
                                                       expected: "one or more windows", actual: "an empty share")
        }
        try buffer.fill(windows: Array(selected), from: windows)
    }

    /// A buffer able to hold any share of any batch cut into `shares`
    /// (``fill(_:share:of:into:)``): `ceil(batchSize / shares)` windows.
    ///
    /// - Parameters:
    ///   - layout: The buffer's layout.
    ///   - shares: How many shares each batch is cut into.
    /// - Throws: `invalidArgument` when `shares` is not positive; as ``makeBuffer(layout:)``.
    public func makeBuffer(layout: SequenceLayout = .batchMajor, shares: Int) throws -> WindowBatch {
        try FrameSequencingError.requirePositive(shares, "share count")
        return try WindowBatch(capacity: Swift.min(ceilingDivide(batchSize, shares), windows.count), windows: windows, layout: layout)
    }

    /// Batch `index` in a new buffer (allocates; use ``fill(_:into:)`` in loops).
    public func batch(_ index: Int, layout: SequenceLayout = .batchMajor) throws -> WindowBatch {
        var buffer = try makeBuffer(layout: layout)
        try fill(index, into: &buffer)
        return buffer
    }
}

/// One batch of windows, filled in place by ``WindowBatches/fill(_:into:)``.
public struct WindowBatch: Sendable {
    /// The memory layout of `inputs` and `targets`.
    public let layout: SequenceLayout
    /// (B, T, F), (T, B, F) or (B, T, H, W, C).
    public private(set) var inputs: Tensor
    /// (B, F) / (B, H, W, C) for single-frame targets; (B, S, F), (S, B, F) or
    /// (B, S, H, W, C) for sequence targets; (B, ...) in every layout for rows of
    /// a targets array (``FrameWindows/targetArray``); `nil` without targets.
    public private(set) var targets: Tensor?
    /// (B, T): 1 where a timestep holds a frame, 0 where it is padding; `nil` when
    /// the windows are never padded.
    public private(set) var mask: Tensor?
    /// Valid timesteps per window, (B).
    public private(set) var lengths: [Int]
    /// The window number of each batch entry.
    public private(set) var windowIndices: [Int]
    /// Whether `targets` is time-major, (S, B, F): sequence targets in a
    /// `.timeMajor` batch. Rows of a targets array are batch-first in every layout.
    package private(set) var targetsAreTimeMajor = false

    /// The shapes of a buffer for `capacity` windows in `layout`.
    static func shapes(capacity: Int, windows: FrameWindows, layout: SequenceLayout)
        -> (inputs: Shape, targets: Shape?, mask: Shape?) {
        let frame = windows.frames.frameShape
        let targets = windows.targetArray.map { rowShape(of: $0, batch: capacity) }
            ?? (windows.hasTargets ? layout.shape(batch: capacity, steps: windows.targetSteps, frame: frame) : nil)
        return (layout.shape(batch: capacity, steps: windows.sequenceLength, frame: frame), targets,
                windows.hasPadding ? Shape([capacity, windows.sequenceLength], names: ["batch", "timesteps"]) : nil)
    }

    init(capacity: Int, windows: FrameWindows, layout: SequenceLayout) throws {
        let (inputShape, targetShape, maskShape) = Self.shapes(capacity: capacity, windows: windows, layout: layout)
        // Inputs, targets and mask together, checked before any of them is allocated.
        var total = 0
        for shape in [inputShape, targetShape, maskShape].compactMap({ $0 }) {
            let (sum, overflow) = total.addingReportingOverflow(try shape.validatedElementCount())
            guard !overflow else { throw FrameSequencingError.sizeOverflow(shape: shape.dimensions) }
            total = sum
        }
        try FileReadLimits.default.checkFloats(
            total, shape: inputShape.dimensions,
            hint: "a buffer for batches of \(capacity) windows is above the memory ceiling FileReadLimits.default; "
                + "make lazy batches with a smaller size (windows.batches(size:))")
        self.layout = layout
        self.inputs = try Tensor(shape: inputShape)
        self.targets = try targetShape.map { try Tensor(shape: $0) }
        self.mask = try maskShape.map { try Tensor(shape: $0) }
        self.lengths = []
        self.windowIndices = []
    }

    /// The number of windows in the batch (B).
    public var count: Int { windowIndices.count }

    /// Runs `body` on the inputs and targets for changes that keep their shapes
    /// (``augment(_:of:pass:seed:)``).
    mutating func withMutableTensors<R>(_ body: (inout Tensor, inout Tensor?) throws -> R) rethrows -> R {
        let shapes = (inputs.dimensions, targets?.dimensions)
        defer { precondition(shapes == (inputs.dimensions, targets?.dimensions), "a batch's tensors changed shape") }
        return try body(&inputs, &targets)
    }

    mutating func fill(windows selected: [Int], from windows: FrameWindows) throws {
        let plan = windows.plan
        let frame = windows.frames.frameShape
        windowIndices = selected
        lengths = selected.map(plan.validLength)
        try inputs.reuse(shape: layout.shape(batch: selected.count, steps: plan.length, frame: frame))
        windows.frames.withUnsafeSource { source in
            inputs.withReusedStorage { destination in
                fillSequences(windows: selected, plan: plan, selection: .inputs(plan), source: source,
                              layout: layout, destination: destination)
            }
        }
        if let array = windows.targetArray {
            var t = try targets ?? Tensor(shape: [0])
            targets = nil  // keep the storage uniquely referenced while filling
            try t.reuse(shape: rowShape(of: array, batch: selected.count))
            if t.count > 0 {  // rows of no values: nothing to write, and no pointer into shared empty storage
                t.withReusedStorage { fillRows(windows: selected, plan: plan, rows: array, destination: $0) }
            }
            targets = t
            targetsAreTimeMajor = false
        } else if windows.hasTargets {
            var t = try targets ?? Tensor(shape: [0])
            targets = nil  // keep the storage uniquely referenced while filling
            try t.reuse(shape: layout.shape(batch: selected.count, steps: windows.targetSteps, frame: frame))
            windows.frames.withUnsafeSource { source in
                t.withReusedStorage { destination in
                    fillSequences(windows: selected, plan: plan, selection: .targets(plan), source: source,
                                  layout: layout, destination: destination)
                }
            }
            targets = t
            targetsAreTimeMajor = layout == .timeMajor && windows.targetSteps != nil
        } else {
            targets = nil
        }
        if windows.hasPadding {
            var m = try mask ?? Tensor(shape: [0])
            mask = nil
            try m.reuse(shape: Shape([selected.count, plan.length], names: ["batch", "timesteps"]))
            m.withReusedStorage { fillMask(windows: selected, plan: plan, destination: $0) }
            mask = m
        } else {
            mask = nil
        }
    }
}
