/// A window over a live stream of frames, fed one frame at a time, for online
/// prediction: after each frame it can give the latest window of `sequenceLength`
/// frames spaced `samplingRate` apart, exactly the last window
/// ``FrameWindows`` would make over the frames seen so far.
///
/// It keeps only the `(sequenceLength - 1) * samplingRate + 1` newest frames in a
/// ring buffer allocated once; appending never allocates.
///
/// ```swift
/// var stream = try RollingWindow(frameShape: shape, sequenceLength: 10)
/// for frame in camera {
///     try stream.append(frame)
///     if let window = try stream.latest() { predict(window) }   // (1, 10, F)
/// }
/// ```
public struct RollingWindow: Sendable {
    /// The shape every appended frame must have.
    public let frameShape: FrameShape
    /// Timesteps per window.
    public let sequenceLength: Int
    /// Frames between consecutive timesteps.
    public let samplingRate: Int
    /// Frames appended since creation or the last ``reset()``.
    public private(set) var framesSeen = 0
    private var ring: [Float]
    private let capacity: Int   // frames held

    /// A stream of frames of `frameShape`.
    ///
    /// - Throws: `invalidArgument` for non-positive sizes; `sizeOverflow` when the
    ///   ring buffer's size does not fit in `Int`; `exceedsMemoryLimit` when it is
    ///   above ``FileReadLimits/default``.
    public init(frameShape: FrameShape, sequenceLength: Int, samplingRate: Int = 1) throws {
        try FrameSequencingError.requirePositive(sequenceLength, "sequenceLength")
        try FrameSequencingError.requirePositive(samplingRate, "samplingRate")
        let (span, o1) = (sequenceLength - 1).multipliedReportingOverflow(by: samplingRate)
        guard !o1, span < Int.max else {
            throw FrameSequencingError.sizeOverflow(shape: [sequenceLength, samplingRate, frameShape.featureCount])
        }
        let (values, o2) = (span + 1).multipliedReportingOverflow(by: frameShape.featureCount)
        guard !o2 else { throw FrameSequencingError.sizeOverflow(shape: [span + 1, frameShape.featureCount]) }
        try FileReadLimits.default.checkFloats(
            values, shape: [span + 1, frameShape.featureCount],
            hint: "a ring of \(span + 1) frames (sequence length \(sequenceLength) at sampling rate \(samplingRate)) of "
                + "\(frameShape.featureCount) values is above the memory ceiling "
                + "FileReadLimits.default; use a shorter sequence length or sampling rate")
        self.frameShape = frameShape
        self.sequenceLength = sequenceLength
        self.samplingRate = samplingRate
        self.capacity = span + 1
        self.ring = [Float](repeating: 0, count: values)
    }

    /// Whether enough frames have arrived to form a window.
    public var isFull: Bool { framesSeen >= capacity }

    /// Appends one frame of `height * width * channels` values.
    ///
    /// - Throws: `elementCountMismatch` for a frame of the wrong size.
    public mutating func append(_ frame: [Float]) throws {
        try frame.withUnsafeBufferPointer { try append(values: $0) }
    }

    /// Appends one (height, width, channels) frame.
    ///
    /// - Throws: `shapeMismatch` for a frame of another shape.
    public mutating func append(_ frame: Tensor) throws {
        guard frame.dimensions == frameShape.shape.dimensions else {
            throw FrameSequencingError.shapeMismatch(name: "A streamed frame",
                expected: ShapeRequirement(exactly: frameShape.shape.dimensions), actual: frame.dimensions)
        }
        try frame.withUnsafeBufferPointer { try append(values: $0) }
    }

    /// Appends one frame of bytes, read as `Float(byte) * scale`.
    public mutating func append(_ frame: [UInt8], scale: Float = 1) throws {
        try checkCount(frame.count)
        let slot = (framesSeen % capacity) * frameShape.featureCount
        ring.withUnsafeMutableBufferPointer { ring in
            frame.withUnsafeBufferPointer {
                convertBytes($0.baseAddress!, to: ring.baseAddress! + slot, count: frame.count, scale: scale)
            }
        }
        framesSeen += 1
    }

    private mutating func append(values: UnsafeBufferPointer<Float>) throws {
        try checkCount(values.count)
        let slot = (framesSeen % capacity) * frameShape.featureCount
        ring.withUnsafeMutableBufferPointer { ring in
            (ring.baseAddress! + slot).update(from: values.baseAddress!, count: values.count)
        }
        framesSeen += 1
    }

    private func checkCount(_ count: Int) throws {
        guard count == frameShape.featureCount else {
            throw FrameSequencingError.elementCountMismatch(name: "A streamed frame of shape \(frameShape)",
                expected: frameShape.featureCount, actual: count)
        }
    }

    /// Copies the latest window into `destination` (at least `sequenceLength *
    /// featureCount` values), oldest timestep first. Returns `false`, writing
    /// nothing, until the window is full.
    public func copyLatest(into destination: UnsafeMutableBufferPointer<Float>) -> Bool {
        let f = frameShape.featureCount
        guard isFull, destination.count >= sequenceLength * f else { return false }
        ring.withUnsafeBufferPointer { ring in
            let newest = framesSeen - 1
            for t in 0 ..< sequenceLength {
                let frame = newest - (sequenceLength - 1 - t) * samplingRate
                (destination.baseAddress! + t * f).update(from: ring.baseAddress! + (frame % capacity) * f, count: f)
            }
        }
        return true
    }

    /// The latest window as a batch of one in `layout`: (1, T, F), (T, 1, F) or
    /// (1, T, H, W, C); `nil` until enough frames have arrived.
    public func latest(layout: SequenceLayout = .batchMajor) throws -> Tensor? {
        guard isFull else { return nil }
        // With one sequence every layout orders the values alike: T frames, oldest first.
        var window = try Tensor(shape: layout.shape(batch: 1, steps: sequenceLength, frame: frameShape))
        _ = window.withUnsafeMutableBufferPointer { copyLatest(into: $0) }
        return window
    }

    /// The latest window; `spatial` is `layout: .spatial`.
    @available(*, deprecated, renamed: "latest(layout:)")
    public func latest(spatial: Bool) throws -> Tensor? { try latest(layout: spatial ? .spatial : .batchMajor) }

    /// Forgets every frame (the buffer is kept).
    public mutating func reset() {
        framesSeen = 0
    }
}
