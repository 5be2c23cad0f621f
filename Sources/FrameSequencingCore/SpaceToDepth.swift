/// Space-to-depth patching: each `p` x `p` block of pixels becomes one pixel
/// with `p * p * C` channels, (H, W, C) -> (H / p, W / p, p * p * C), and back.
///
/// This is TensorFlow's `tf.nn.space_to_depth` / `depth_to_space` (NHWC),
/// PyTorch's `pixel_unshuffle` / `pixel_shuffle` up to its channel order, and
/// OpenSTL's `patch_size`: a recurrent network then runs on a grid `p` times
/// smaller on each side, so its state and training record are `p * p` times
/// smaller, while every input value is kept.
///
/// Channel order is TensorFlow's: patched channel `(dy * p + dx) * C + c` holds
/// channel `c` of the pixel at offset (dy, dx) in its block. So per-channel
/// statistics of the original frames (channel `k % C`) still apply.
///
/// Frames whose height or width is not a multiple of `p` are padded with zeros
/// at the bottom and right to the next multiple before patching;
/// ``invert(_:height:width:)`` crops them back. A 785 x 785 frame with `p = 8`
/// is padded to 792 x 792 and patched to (99, 99, 64 * C).
///
/// ```swift
/// let patch = try SpaceToDepth(blockSize: 8)
/// let patched = try frames.patched(patch)                 // a view: (99, 99, 192) frames, nothing copied
/// let batch = try patch.apply(to: images)                  // (B, 785, 785, 3) -> (B, 99, 99, 192)
/// let back = try patch.invert(batch, height: 785, width: 785)   // (B, 785, 785, 3)
/// ```
public struct SpaceToDepth: Sendable, Hashable, CustomStringConvertible {
    /// The side `p` of a block.
    public let blockSize: Int

    /// A transform of `blockSize` x `blockSize` blocks.
    ///
    /// - Throws: `invalidArgument` unless `blockSize` is at least 1 (1 leaves frames as they are).
    public init(blockSize: Int) throws {
        try FrameSequencingError.requirePositive(blockSize, "space-to-depth block size")
        self.blockSize = blockSize
    }

    /// The patched shape of frames of `shape`: (ceil(H / p), ceil(W / p), p * p * C).
    ///
    /// - Throws: `sizeOverflow` when the patched channel count does not fit in `Int`.
    public func patchedShape(of shape: FrameShape) throws -> FrameShape {
        let p = blockSize
        let (channels, overflow) = (p * p).multipliedReportingOverflow(by: shape.channels)
        guard !overflow, p <= Int(Int32.max) else { throw FrameSequencingError.sizeOverflow(shape: [p, p, shape.channels]) }
        return try FrameShape(height: (shape.height + p - 1) / p, width: (shape.width + p - 1) / p, channels: channels)
    }

    /// Zeros added below and to the right of a frame of `shape` before patching.
    public func padding(for shape: FrameShape) -> (bottom: Int, right: Int) {
        let p = blockSize
        return ((p - shape.height % p) % p, (p - shape.width % p) % p)
    }

    /// `images` (..., H, W, C) patched to (..., ceil(H / p), ceil(W / p), p * p * C),
    /// zero-padded as the type describes; any number of leading axes (one frame,
    /// a batch of frames, a batch of sequences).
    ///
    /// - Throws: `invalidArgument` for a tensor of rank below 3 or with a zero axis.
    /// - Complexity: O(elements of the result), one pass.
    public func apply(to images: Tensor) throws -> Tensor {
        let (leading, frame) = try Self.split(images.dimensions, "Images to patch (..., height, width, channels)")
        let patched = try patchedShape(of: frame)
        let layout = PatchLayout(block: blockSize, source: frame, patched: patched)
        var result = try Tensor(shape: Shape(leading + [patched.height, patched.width, patched.channels]))
        images.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                for n in 0 ..< leading.reduce(1, *) {
                    layout.patch(FrameSource.Elements.float32(source.baseAddress! + n * frame.featureCount),
                                 into: destination.baseAddress! + n * patched.featureCount)
                }
            }
        }
        return result
    }

    /// The inverse of ``apply(to:)``: `patched` (..., h, w, p * p * C) back to
    /// (..., height, width, C), dropping the padding. `height` and `width` default
    /// to `h * p` and `w * p` (no padding to drop).
    ///
    /// - Throws: `invalidArgument` for a rank below 3, a channel count that is not
    ///   a multiple of `p * p`, or a `height` / `width` that `h` / `w` blocks do not cover
    ///   with less than one block of padding.
    /// - Complexity: O(elements of the result).
    public func invert(_ patched: Tensor, height: Int? = nil, width: Int? = nil) throws -> Tensor {
        let (leading, grid) = try Self.split(patched.dimensions, "Patched images to restore (..., height, width, channels)")
        let p = blockSize
        guard grid.channels % (p * p) == 0 else {
            throw FrameSequencingError.invalidArgument(
                name: "patched channel count", expected: "a multiple of \(p * p) (block size \(p) squared)",
                actual: "\(grid.channels)")
        }
        let frame = try FrameShape(height: height ?? grid.height * p, width: width ?? grid.width * p,
                                   channels: grid.channels / (p * p))
        guard try patchedShape(of: frame) == grid else {
            throw FrameSequencingError.invalidArgument(
                name: "restored frame size", expected: "a height and width that \(grid.height) x \(grid.width) blocks of "
                    + "\(p) cover with less than one block of padding (\(grid.height * p - p + 1)...\(grid.height * p) x "
                    + "\(grid.width * p - p + 1)...\(grid.width * p))",
                actual: "\(frame.height) x \(frame.width)")
        }
        let layout = PatchLayout(block: p, source: frame, patched: grid)
        var result = try Tensor(shape: Shape(leading + [frame.height, frame.width, frame.channels]))
        patched.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                for n in 0 ..< leading.reduce(1, *) {
                    layout.unpatch(source.baseAddress! + n * grid.featureCount,
                                   into: destination.baseAddress! + n * frame.featureCount)
                }
            }
        }
        return result
    }

    public var description: String { "space-to-depth \(blockSize)x\(blockSize)" }

    /// (leading axes, frame shape) of a (..., H, W, C) tensor.
    private static func split(_ dimensions: [Int], _ context: String) throws -> ([Int], FrameShape) {
        guard dimensions.count >= 3, !dimensions.contains(0) else {
            throw FrameSequencingError.invalidArgument(name: context, expected: "rank 3 or more with no empty axis",
                                                       actual: "shape \(dimensions)")
        }
        let n = dimensions.count
        return (Array(dimensions.prefix(n - 3)),
                try FrameShape(height: dimensions[n - 3], width: dimensions[n - 2], channels: dimensions[n - 1]))
    }
}

/// The index map of one ``SpaceToDepth`` between a frame shape and its patched
/// shape: the copy loops that every patched read (frames, windows, batches,
/// tensors) goes through.
struct PatchLayout: Sendable, Hashable {
    let block: Int
    /// The frame as stored.
    let source: FrameShape
    /// The frame as read: (ceil(H / p), ceil(W / p), p * p * C).
    let patched: FrameShape

    /// Writes one frame of `elements` (in `source` layout) patched into
    /// `destination` ([patched.featureCount], overwritten, padding zero). Each
    /// block row is one run of `p * C` values in both layouts.
    @inline(__always)
    func patch(_ elements: FrameSource.Elements, into destination: UnsafeMutablePointer<Float>) {
        let (p, c) = (block, source.channels)
        let run = p * c                                       // one block row: p pixels of C channels
        for i in 0 ..< patched.height {
            for dy in 0 ..< p {
                let y = i * p + dy
                for j in 0 ..< patched.width {
                    let out = destination + ((i * patched.width + j) * p * p + dy * p) * c
                    let valid = y < source.height ? min(p, source.width - j * p) * c : 0
                    if valid > 0 {
                        let start = (y * source.width + j * p) * c
                        switch elements {
                        case .float32(let base): out.update(from: base + start, count: valid)
                        case .bytes(let base, let scale): convertBytes(base + start, to: out, count: valid, scale: scale)
                        }
                    }
                    if valid < run { (out + valid).update(repeating: 0, count: run - valid) }
                }
            }
        }
    }

    /// The inverse of ``patch(_:into:)``: writes the `source`-shaped frame held
    /// patched at `patchedFrame` into `destination` ([source.featureCount],
    /// overwritten), skipping the padding.
    func unpatch(_ patchedFrame: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>) {
        let (p, c) = (block, source.channels)
        for y in 0 ..< source.height {
            let (i, dy) = y.quotientAndRemainder(dividingBy: p)
            for j in 0 ..< patched.width {
                let valid = min(p, source.width - j * p) * c
                (destination + (y * source.width + j * p) * c)
                    .update(from: patchedFrame + ((i * patched.width + j) * p * p + dy * p) * c, count: valid)
            }
        }
    }
}
