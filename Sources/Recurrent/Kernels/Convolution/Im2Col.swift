// im2col and its adjoint col2im: a convolution becomes one matrix product over
// patches, and its input gradient a product scattered back onto the image.
//
// Legend (as in ConvolutionGeometry.swift): B batch; H x W x C the image;
// OH x OW the patch grid; KH x KW taps; SH, SW strides; DH, DW dilation;
// K = KH * KW * C one patch; R the rows (patches) handled by one call.
//
// Reference equations, for patch row r = (b, oy, ox) and column (ky, kx, c):
//   im2col: patches[r, (ky, kx, c)]  = image[b, oy*SH - padTop + ky*DH, ox*SW - padLeft + kx*DW, c]  (0 in padding)
//   col2im: image[b, iy, ix, c]     += patches[r, (ky, kx, c)] for every (r, ky, kx) landing on (iy, ix)
// col2im is the exact transpose of im2col, so it is the input gradient of it.

/// Writes the patches of `rows` (indices into the B * OH * OW grid) to
/// `patches` [R, rowStride >= K], R = `rows.count`, one patch per row (layout
/// in ``ConvolutionGeometry``). Overwrites the first K values of each row,
/// writing zeros for padding; values past K are left alone.
///
/// When a row's taps are adjacent (DW = 1) and all inside the image, the KW * C
/// values of each kernel row are one contiguous run of the image and are copied
/// as one.
///
/// - Complexity: `O(R * K)`, no allocation.
func im2col(
    _ g: ConvolutionGeometry, image: UnsafePointer<Float>, rows: Range<Int>, patches: UnsafeMutablePointer<Float>,
    rowStride: Int
) {
    let c = g.channels
    let run = g.kernelWidth * c           // one kernel row of a patch
    forEachPatch(g, rows) { index, b, oy, ox in
        var destination = patches + index * rowStride
        let x0 = ox * g.strideWidth - g.padLeft
        let contiguous = g.dilationWidth == 1 && x0 >= 0 && x0 + g.kernelWidth <= g.width
        for ky in 0 ..< g.kernelHeight {
            let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
            guard iy >= 0 && iy < g.height else {
                destination.update(repeating: 0, count: run)
                destination += run
                continue
            }
            let imageRow = image + ((b * g.height + iy) * g.width) * c
            if contiguous {
                copyFloats(from: imageRow + x0 * c, to: destination, count: run)
                destination += run
                continue
            }
            for kx in 0 ..< g.kernelWidth {
                let ix = x0 + kx * g.dilationWidth
                if ix >= 0 && ix < g.width {
                    copyFloats(from: imageRow + ix * c, to: destination, count: c)
                } else {
                    destination.update(repeating: 0, count: c)
                }
                destination += c
            }
        }
    }
}

/// Adds the patches [R, K] of `rows` back onto the pixels they were read from:
/// the transpose of ``im2col(_:image:rows:patches:rowStride:)``. Accumulates into `image`
/// (B, H, W, C); values that fall in the padding are dropped.
///
/// Rows of different images touch disjoint pixels, so calls on rows of
/// different images may run at once; calls sharing an image may not.
///
/// - Complexity: `O(R * K)`, no allocation.
func col2im(
    _ g: ConvolutionGeometry, patches: UnsafePointer<Float>, rows: Range<Int>, image: UnsafeMutablePointer<Float>
) {
    let c = g.channels
    let run = g.kernelWidth * c
    forEachPatch(g, rows) { index, b, oy, ox in
        var source = patches + index * g.patchLength
        let x0 = ox * g.strideWidth - g.padLeft
        let contiguous = g.dilationWidth == 1 && x0 >= 0 && x0 + g.kernelWidth <= g.width
        for ky in 0 ..< g.kernelHeight {
            let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
            guard iy >= 0 && iy < g.height else {
                source += run
                continue
            }
            let imageRow = image + ((b * g.height + iy) * g.width) * c
            if contiguous {
                addFloats(from: source, to: imageRow + x0 * c, count: run)
                source += run
                continue
            }
            for kx in 0 ..< g.kernelWidth {
                let ix = x0 + kx * g.dilationWidth
                if ix >= 0 && ix < g.width { addFloats(from: source, to: imageRow + ix * c, count: c) }
                source += c
            }
        }
    }
}

/// Calls `body(index, b, oy, ox)` for every row of `rows`, `index` counting
/// from 0, stepping through the grid without a division per row.
@inline(__always)
private func forEachPatch(_ g: ConvolutionGeometry, _ rows: Range<Int>, _ body: (Int, Int, Int, Int) -> Void) {
    guard !rows.isEmpty else { return }
    var (b, position) = rows.lowerBound.quotientAndRemainder(dividingBy: g.rowsPerImage)
    var (oy, ox) = position.quotientAndRemainder(dividingBy: g.outputWidth)
    for index in 0 ..< rows.count {
        body(index, b, oy, ox)
        ox += 1
        if ox == g.outputWidth {
            ox = 0
            oy += 1
            if oy == g.outputHeight { (oy, b) = (0, b + 1) }
        }
    }
}

/// `destination[i] = source[i]`; an inlined loop, since most runs are a few
/// values (one pixel's channels) and a `memmove` call costs more than the copy.
@inline(__always)
private func copyFloats(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0 ..< count { destination[i] = source[i] }
}

/// `destination[i] += source[i]`.
@inline(__always)
private func addFloats(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0 ..< count { destination[i] += source[i] }
}
