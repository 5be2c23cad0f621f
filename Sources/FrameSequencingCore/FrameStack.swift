/// An image time series: `count` frames of one (height, width, channels) shape,
/// stored contiguously in time order as (frames, height, width, channels).
///
/// Byte frames stay bytes: a 400-frame 785x785x3 series takes 739 MB as `UInt8`
/// instead of 2.96 GB as Float32, and is converted (and scaled) only when windows
/// are copied into a batch. Sub-ranges (``frames(_:)``) share storage.
///
/// ```swift
/// let frames = try FrameStack(frames: pixels, shape: FrameShape(height: 64, width: 64, channels: 1), scale: 1.0 / 255)
/// ```
public struct FrameStack: Sendable {
    /// How the frames' values are held.
    package enum Storage: Sendable, Equatable {
        /// Float32 values, used as they are.
        case float32([Float])
        /// Bytes, multiplied by `scale` whenever they are read as Float32.
        case bytes([UInt8], scale: Float)
    }

    /// What the frames' values are held as.
    public enum ElementKind: Sendable, Equatable {
        /// Float32 values, used as they are.
        case float32
        /// Bytes, multiplied by `scale` whenever they are read as Float32.
        case bytes(scale: Float)
    }

    /// The shape of every frame as read (the patched shape for a patched stack).
    public let frameShape: FrameShape
    /// The number of frames.
    public let count: Int
    /// The elements of the whole series this stack was cut from, possibly shared
    /// with other stacks (see ``frames(_:)``); read the stack's own frames with
    /// ``frame(at:)`` or ``tensor()``.
    package let storage: Storage
    /// Whether the frames are held as Float32 or as bytes (and their scale).
    public var elementKind: ElementKind {
        switch storage {
        case .float32: .float32
        case .bytes(_, let scale): .bytes(scale: scale)
        }
    }
    // The first frame of this stack within `storage`.
    let firstFrame: Int
    // Set for a patched view (see ``patched(_:)``): stored frames are read through it.
    let patching: PatchLayout?

    /// Values per frame: `height * width * channels`.
    public var featureCount: Int { frameShape.featureCount }

    // MARK: Making a stack

    /// Frames stacked from a flat (frames, height, width, channels) Float32 array.
    ///
    /// Throws `elementCountMismatch` unless `values.count` is a multiple of the frame
    /// size (naming the frame count that would fit), `nonFinite` never (NaN is data here).
    public init(stacked values: [Float], frameShape: FrameShape) throws {
        let count = try FrameStack.frameCount(values.count, frameShape)
        self.init(frameShape: frameShape, count: count, storage: .float32(values), firstFrame: 0)
    }

    /// Frames stacked from a flat (frames, height, width, channels) byte array, read
    /// as `Float(byte) * scale` (use `1.0 / 255` for pixels in 0...1).
    public init(stacked values: [UInt8], frameShape: FrameShape, scale: Float = 1) throws {
        try FrameStack.requireFiniteScale(scale)
        let count = try FrameStack.frameCount(values.count, frameShape)
        self.init(frameShape: frameShape, count: count, storage: .bytes(values, scale: scale), firstFrame: 0)
    }

    /// Frames stacked from a (frames, height, width, channels) tensor.
    ///
    /// Throws `invalidArgument` unless the tensor has rank 4 with positive frame sizes.
    public init(stacked tensor: Tensor) throws {
        guard tensor.shape.rank == 4 else {
            throw FrameSequencingError.invalidArgument(
                name: "stacked frames", expected: "a rank-4 (frames, height, width, channels) tensor",
                actual: "shape \(tensor.shape)")
        }
        let d = tensor.dimensions
        let shape = try FrameShape(height: d[1], width: d[2], channels: d[3])
        try FrameSequencingError.requirePositive(d[0], "frame count")
        self.init(frameShape: shape, count: d[0], storage: .float32(tensor.scalars), firstFrame: 0)
    }

    /// Frames given one array each, every array `height * width * channels` long.
    ///
    /// Throws `invalidArgument` for an empty list and `elementCountMismatch` naming
    /// the first frame of the wrong size.
    public init(frames: [[Float]], shape: FrameShape) throws {
        try self.init(stacked: FrameStack.concatenate(frames, shape), frameShape: shape)
    }

    /// Frames given as Float64 arrays, converted to Float32.
    public init(frames: [[Double]], shape: FrameShape) throws {
        let values = try FrameStack.concatenate(frames, shape).map { Float($0) }
        try self.init(stacked: values, frameShape: shape)
    }

    /// Frames given as byte arrays, read as `Float(byte) * scale`.
    public init(frames: [[UInt8]], shape: FrameShape, scale: Float = 1) throws {
        try self.init(stacked: FrameStack.concatenate(frames, shape), frameShape: shape, scale: scale)
    }

    /// Frames given as (height, width, channels) tensors.
    ///
    /// Throws `frameShapeMismatch` naming the first frame whose shape differs from
    /// frame 0's, and `invalidArgument` for an empty list or a tensor not of rank 3.
    public init(frames: [Tensor]) throws {
        guard let first = frames.first else {
            throw FrameSequencingError.invalidArgument(name: "frames", expected: "at least one frame", actual: "none")
        }
        let shape = try FrameStack.frameShape(of: first, index: 0)
        var values = [Float]()
        values.reserveCapacity(frames.count * shape.featureCount)
        for (index, frame) in frames.enumerated() {
            let actual = try FrameStack.frameShape(of: frame, index: index)
            guard actual == shape else {
                throw FrameSequencingError.frameShapeMismatch(index: index, expected: shape, actual: actual)
            }
            frame.withUnsafeBufferPointer { values.append(contentsOf: $0) }
        }
        self.init(frameShape: shape, count: frames.count, storage: .float32(values), firstFrame: 0)
    }

    init(frameShape: FrameShape, count: Int, storage: Storage, firstFrame: Int, patching: PatchLayout? = nil) {
        self.frameShape = frameShape
        self.count = count
        self.storage = storage
        self.firstFrame = firstFrame
        self.patching = patching
    }

    // MARK: Patching

    /// The bytes of the storage this stack reads (shared with the stacks it was
    /// cut from: a sub-range or a patched view counts the whole series).
    public var storageBytes: Int {
        switch storage {
        case .float32(let values): return values.count * MemoryLayout<Float>.stride
        case .bytes(let values, _): return values.count
        }
    }

    /// The shape of the frames as stored: ``frameShape`` for a stack that is not
    /// patched, the frames before patching for one that is.
    public var storedFrameShape: FrameShape { patching?.source ?? frameShape }

    /// The space-to-depth transform this stack's frames are read through, if any.
    public var patch: SpaceToDepth? { patching.map { try! SpaceToDepth(blockSize: $0.block) } }

    /// The same frames read through `transform`: a view sharing storage whose
    /// frames are (ceil(H / p), ceil(W / p), p * p * C), zero-padded at the
    /// bottom and right when H or W is not a multiple of p. Windows, batches in
    /// every layout, ``tensor()`` and ``frame(at:)`` of the view all read patched
    /// frames; nothing is copied until a batch is filled.
    ///
    /// - Throws: `invalidArgument` for a stack that is already patched.
    /// - Complexity: O(1).
    public func patched(_ transform: SpaceToDepth) throws -> FrameStack {
        guard patching == nil else {
            throw FrameSequencingError.invalidArgument(
                name: "frames to patch", expected: "frames that are not patched yet",
                actual: "frames already read through \(patch!)")
        }
        let shape = try transform.patchedShape(of: frameShape)
        return FrameStack(frameShape: shape, count: count, storage: storage, firstFrame: firstFrame,
                          patching: PatchLayout(block: transform.blockSize, source: frameShape, patched: shape))
    }

    // MARK: Reading

    /// The frames in `range`, sharing storage (no copy).
    ///
    /// Throws `indexOutOfRange` unless `range` lies within `0...count`, and
    /// `invalidArgument` for an empty range (a series has at least one frame).
    public func frames(_ range: Range<Int>) throws -> FrameStack {
        guard !range.isEmpty else {
            throw FrameSequencingError.invalidArgument(name: "frame range", expected: "at least one frame", actual: "\(range)")
        }
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw FrameSequencingError.indexOutOfRange(name: "Frame range bound (series of \(count) frames)",
                index: range.lowerBound < 0 ? range.lowerBound : range.upperBound, count: count + 1)
        }
        return FrameStack(frameShape: frameShape, count: range.count, storage: storage,
                          firstFrame: firstFrame + range.lowerBound, patching: patching)
    }

    /// Frame `index` as a Float32 (height, width, channels) tensor.
    public func frame(at index: Int) throws -> Tensor {
        guard index >= 0 && index < count else {
            throw FrameSequencingError.indexOutOfRange(name: "Frame", index: index, count: count)
        }
        return try frames(index ..< index + 1).tensor().reshaped(to: frameShape.shape)
    }

    /// All frames as a Float32 (frames, height, width, channels) tensor (a copy,
    /// converted from bytes when stored as bytes).
    public func tensor() throws -> Tensor {
        let shape = Shape([count, frameShape.height, frameShape.width, frameShape.channels],
                          names: ["frames", "height", "width", "channels"])
        var result = try Tensor(shape: shape)
        result.withUnsafeMutableBufferPointer { destination in
            withUnsafeSource { $0.copyFrames(from: 0, count: count, to: destination.baseAddress!) }
        }
        return result
    }

    /// Calls `body` with a reader of this stack's frames, frame 0 being `firstFrame`.
    func withUnsafeSource<R>(_ body: (FrameSource) throws -> R) rethrows -> R {
        let skip = firstFrame * storedFrameShape.featureCount
        switch storage {
        case .float32(let values):
            return try values.withUnsafeBufferPointer {
                try body(FrameSource(elements: .float32($0.baseAddress! + skip), featureCount: featureCount, patching: patching))
            }
        case .bytes(let values, let scale):
            return try values.withUnsafeBufferPointer {
                try body(FrameSource(elements: .bytes($0.baseAddress! + skip, scale: scale), featureCount: featureCount,
                                     patching: patching))
            }
        }
    }

    // MARK: Validation helpers

    private static func frameCount(_ elements: Int, _ shape: FrameShape) throws -> Int {
        guard elements > 0 else {
            throw FrameSequencingError.invalidArgument(name: "frames", expected: "at least one frame", actual: "no values")
        }
        guard elements % shape.featureCount == 0 else {
            throw FrameSequencingError.elementCountMismatch(name: "A stacked array of \(shape) frames",
                expected: (elements / shape.featureCount + 1) * shape.featureCount, actual: elements)
        }
        return elements / shape.featureCount
    }

    private static func concatenate<Element>(_ frames: [[Element]], _ shape: FrameShape) throws -> [Element] {
        guard !frames.isEmpty else {
            throw FrameSequencingError.invalidArgument(name: "frames", expected: "at least one frame", actual: "none")
        }
        var values = [Element]()
        values.reserveCapacity(frames.count * shape.featureCount)
        for (index, frame) in frames.enumerated() {
            guard frame.count == shape.featureCount else {
                throw FrameSequencingError.elementCountMismatch(name: "Frame \(index) of shape \(shape)",
                    expected: shape.featureCount, actual: frame.count)
            }
            values.append(contentsOf: frame)
        }
        return values
    }

    private static func frameShape(of tensor: Tensor, index: Int) throws -> FrameShape {
        guard tensor.shape.rank == 3 else {
            throw FrameSequencingError.invalidArgument(
                name: "frame \(index)", expected: "a rank-3 (height, width, channels) tensor", actual: "shape \(tensor.shape)")
        }
        let d = tensor.dimensions
        return try FrameShape(height: d[0], width: d[1], channels: d[2])
    }

    private static func requireFiniteScale(_ scale: Float) throws {
        guard scale.isFinite else { throw FrameSequencingError.nonFinite(name: "The byte scale", index: 0, value: scale) }
    }
}
