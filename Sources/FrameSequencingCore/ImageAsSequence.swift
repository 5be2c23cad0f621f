/// Which axis of an image becomes the time axis.
public enum ImageScanAxis: Sendable, Hashable {
    /// Rows are timesteps: (H, W, C) becomes (H, W * C). The classic "MNIST rows
    /// into an LSTM" encoding; a reshape, no copy.
    case rows
    /// Columns are timesteps: (H, W, C) becomes (W, H * C), each step holding one
    /// column top to bottom with channels innermost. A transposing copy.
    case columns
}

extension Tensor {
    /// One image (H, W, C) as a sequence (T, F), or a batch of images (N, H, W, C)
    /// as sequences (N, T, F), scanning rows or columns. A 28x28x3 image gives
    /// (28, 84) either way.
    ///
    /// - Throws: `invalidArgument` unless the tensor has rank 3 or 4.
    /// - Complexity: O(1) for rows (shares storage); O(N * H * W * C) for columns.
    public func imageSequence(along axis: ImageScanAxis) throws -> Tensor {
        guard shape.rank == 3 || shape.rank == 4 else {
            throw FrameSequencingError.invalidArgument(
                name: "image", expected: "a (height, width, channels) or (images, height, width, channels) tensor",
                actual: "shape \(shape)")
        }
        let d = dimensions
        let (n, h, w, c) = shape.rank == 3 ? (1, d[0], d[1], d[2]) : (d[0], d[1], d[2], d[3])
        let outer = shape.rank == 4 ? [n] : []
        let outerNames = shape.rank == 4 ? ["batch"] : []
        switch axis {
        case .rows:
            return try reshaped(to: Shape(outer + [h, w * c], names: outerNames + ["timesteps", "features"]))
        case .columns:
            var result = try Tensor(shape: Shape(outer + [w, h * c], names: outerNames + ["timesteps", "features"]))
            result.withUnsafeMutableBufferPointer { out in
                withUnsafeBufferPointer { source in
                    for image in 0 ..< n {
                        let base = image * h * w * c
                        for row in 0 ..< h {
                            for column in 0 ..< w {
                                // source (row, column, :) -> destination (column, row, :)
                                let from = base + (row * w + column) * c
                                let to = base + (column * h + row) * c
                                (out.baseAddress! + to).update(from: source.baseAddress! + from, count: c)
                            }
                        }
                    }
                }
            }
            return result
        }
    }
}

extension FrameStack {
    /// Every frame as a sequence of its rows (N, H, W * C) or columns (N, W, H * C),
    /// as Float32 (bytes are converted and scaled).
    public func imageSequences(along axis: ImageScanAxis) throws -> Tensor {
        try tensor().imageSequence(along: axis)
    }
}
