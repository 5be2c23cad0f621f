import FrameSequencing

// Tensors side by side along an axis, and back: a RecurrentStack's concatenated
// output and its gradient, and the Concatenate layer. The parts are read in place.

/// Tensors of one shape but the last axis, side by side along it.
func concatenatedAlongLastAxis(_ parts: [Tensor]) throws -> Tensor {
    let leading = Array(parts[0].dimensions.dropLast())
    let rows = leading.reduce(1, *)
    let widths = parts.map { $0.dimensions.last ?? 0 }
    for (index, part) in parts.enumerated() where Array(part.dimensions.dropLast()) != leading {
        throw RecurrentError.shapeMismatch(name: "Concatenated part \(index)", expected: ShapeRequirement(exactly: leading + [widths[index]]),
                                           actual: part.dimensions)
    }
    let total = widths.reduce(0, +)
    return try uninitializedTensor(Shape(leading + [total])) { y in
        var offset = 0
        for (part, width) in zip(parts, widths) {
            part.withUnsafeBufferPointer { x in
                guard let x = x.baseAddress else { return }   // an empty part
                for row in 0 ..< rows { (y + row * total + offset).update(from: x + row * width, count: width) }
            }
            offset += width
        }
    }
}

/// The inverse of ``concatenatedAlongLastAxis(_:)``: `whole` cut along its last axis into `widths`.
func splitAlongLastAxis(_ whole: Tensor, _ widths: [Int]) throws -> [Tensor] {
    let leading = Array(whole.dimensions.dropLast())
    let total = whole.dimensions.last ?? 0
    guard total == widths.reduce(0, +) else {
        throw RecurrentError.shapeMismatch(name: "Concatenated gradient", expected: ShapeRequirement(exactly: leading + [widths.reduce(0, +)]),
                                           actual: whole.dimensions)
    }
    let rows = leading.reduce(1, *)
    var offset = 0
    return try whole.withUnsafeBufferPointer { x in
        try widths.map { width in
            defer { offset += width }
            return try uninitializedTensor(Shape(leading + [width])) { y in
                guard let x = x.baseAddress else { return }   // an empty gradient
                for row in 0 ..< rows { (y + row * width).update(from: x + row * total + offset, count: width) }
            }
        }
    }
}

/// Tensors of one shape but `axis`, side by side along it, for ``Concatenate``
/// (which has checked the shapes). Each part is viewed, without a copy, as
/// (outer, size * inner) rows: outer the product of the axes before `axis`,
/// inner of those after. Joining those rows is the last-axis row copy, so every
/// axis takes that path; on the last axis (inner 1) it is the path itself.
func concatenated(_ parts: [Tensor], along axis: Int) throws -> Tensor {
    var dimensions = parts[0].dimensions
    let (outer, inner) = (dimensions[..<axis].reduce(1, *), dimensions[(axis + 1)...].reduce(1, *))
    let rows = try parts.map { try $0.reshaped(to: Shape([outer, $0.dimensions[axis] * inner])) }
    dimensions[axis] = parts.reduce(0) { $0 + $1.dimensions[axis] }
    return try concatenatedAlongLastAxis(rows).reshaped(to: Shape(dimensions))
}

/// The inverse of ``concatenated(_:along:)``: `whole` cut along `axis` into
/// pieces of `sizes` on that axis (summing to its size), each the shape of
/// `whole` but that axis.
func split(_ whole: Tensor, along axis: Int, sizes: [Int]) throws -> [Tensor] {
    let dimensions = whole.dimensions
    let (outer, inner) = (dimensions[..<axis].reduce(1, *), dimensions[(axis + 1)...].reduce(1, *))
    let rows = try whole.reshaped(to: Shape([outer, dimensions[axis] * inner]))
    return try zip(splitAlongLastAxis(rows, sizes.map { $0 * inner }), sizes).map { piece, size in
        var pieceDimensions = dimensions
        pieceDimensions[axis] = size
        return try piece.reshaped(to: Shape(pieceDimensions))
    }
}

/// `a + b`, elementwise, of one shape.
func addedTensors(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try RecurrentError.requireShape(b, a.dimensions, "Added gradient")
    return try uninitializedTensor(a.shape) { y in
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { z in for i in 0 ..< x.count { y[i] = x[i] + z[i] } }
        }
    }
}
