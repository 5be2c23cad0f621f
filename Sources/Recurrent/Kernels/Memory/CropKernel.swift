import FrameSequencing

// The crop layer's copies, the one place its pointers are taken.

/// The top-left `height` x `width` pixels of (B, H, W, C) images.
func cropped(_ x: Tensor, _ height: Int, _ width: Int) throws -> Tensor {
    let d = try croppedDimensions(x.dimensions, height, width)
    if d == x.dimensions { return x }
    let (rows, w, c) = (d[0] * height, x.dimensions[2], d[3])
    return try uninitializedTensor(Shape(d)) { y in
        x.withUnsafeBufferPointer { source in
            for r in 0 ..< rows {
                let (b, row) = r.quotientAndRemainder(dividingBy: height)
                let from = source.baseAddress! + ((b * x.dimensions[1] + row) * w) * c
                (y + r * width * c).update(from: from, count: width * c)
            }
        }
    }
}

/// The gradient of ``cropped(_:_:_:)``: `gradient` (B, h, w, C) placed top-left
/// in zeros of `shape` (B, H >= h, W >= w, C).
func uncropped(_ gradient: Tensor, to shape: Shape) throws -> Tensor {
    let d = shape.dimensions
    guard gradient.shape.rank == 4 else {
        throw RecurrentError.shapeMismatch(name: "Crop output gradient", expected: [.any("batch"), .any("height"), .any("width"), .any("channels")],
                                           actual: gradient.dimensions)
    }
    let (height, width) = (gradient.dimensions[1], gradient.dimensions[2])
    _ = try croppedDimensions(d, height, width)
    try RecurrentError.requireShape(gradient, [d[0], height, width, d[3]], "Crop output gradient")
    if gradient.dimensions == d { return gradient }
    var result = try Tensor(shape: shape)
    result.withUnsafeMutableBufferPointer { y in
        gradient.withUnsafeBufferPointer { g in
            for r in 0 ..< d[0] * height {
                let (b, row) = r.quotientAndRemainder(dividingBy: height)
                (y.baseAddress! + ((b * d[1] + row) * d[2]) * d[3]).update(from: g.baseAddress! + r * width * d[3], count: width * d[3])
            }
        }
    }
    return result
}

