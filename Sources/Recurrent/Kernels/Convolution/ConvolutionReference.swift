// The scalar twins of Conv2D and Conv2DTranspose: direct loops over every
// output pixel, kernel tap and channel, summed in Double, with the sizes and
// padding worked out here from TensorFlow's and Keras's rules rather than taken
// from ConvolutionGeometry, so the tests check those too.
//
// Legend: B batch; H x W x C input; OH x OW x F output; KH x KW taps; SH, SW
// strides; DH, DW dilation; e = (k - 1) * d + 1 the dilated kernel extent.
//
// Reference equations (no activation; p the leading padding):
//   conv:       y[b, oy, ox, f] = bias[f] + sum_{ky, kx, c} x[b, oy*SH - pTop + ky*DH, ox*SW - pLeft + kx*DW, c] * kernel[ky, kx, c, f]
//   transposed: y[b, oy, ox, f] = bias[f] + sum over (iy, ix, ky, kx, c) with iy*SH - pTop + ky*DH = oy and
//               ix*SW - pLeft + kx*DW = ox of x[b, iy, ix, c] * kernel[ky, kx, f, c]

/// One axis of a convolution: output length and leading padding.
/// valid: the number of window starts `0, s, 2s, ...` with `start + e <= in`;
/// same: `ceil(in / s)` windows, the padding they overhang split with the
/// smaller half first.
private func referenceAxis(_ input: Int, kernel: Int, stride: Int, dilation: Int, padding: ConvolutionPadding)
    -> (length: Int, padBefore: Int) {
    let extent = (kernel - 1) * dilation + 1
    if padding == .valid {
        var count = 0
        while count * stride + extent <= input { count += 1 }
        return (count, 0)
    }
    let length = Int((Double(input) / Double(stride)).rounded(.up))
    let overhang = max((length - 1) * stride + extent - input, 0)
    return (length, overhang / 2)
}

/// Calls `body(output, input, weight)` with the flat indices of every product
/// `x[input] * kernel[weight]` that Conv2D's sum for `y[output]` holds (see the
/// file comment); `kernel` is (KH, KW, C, F). Returns the output's height and width.
private func forEachConv2DProduct(
    batch: Int, height: Int, width: Int, channels: Int, kernelSize: (height: Int, width: Int), filters: Int,
    strides: (height: Int, width: Int), dilation: (height: Int, width: Int), padding: ConvolutionPadding,
    _ body: (_ output: Int, _ input: Int, _ weight: Int) -> Void
) -> (height: Int, width: Int) {
    let rows = referenceAxis(height, kernel: kernelSize.height, stride: strides.height, dilation: dilation.height, padding: padding)
    let columns = referenceAxis(width, kernel: kernelSize.width, stride: strides.width, dilation: dilation.width, padding: padding)
    for b in 0 ..< batch { for oy in 0 ..< rows.length { for ox in 0 ..< columns.length { for f in 0 ..< filters {
        let output = ((b * rows.length + oy) * columns.length + ox) * filters + f
        for ky in 0 ..< kernelSize.height { for kx in 0 ..< kernelSize.width {
            let iy = oy * strides.height - rows.padBefore + ky * dilation.height
            let ix = ox * strides.width - columns.padBefore + kx * dilation.width
            guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
            for c in 0 ..< channels {
                body(output, ((b * height + iy) * width + ix) * channels + c, ((ky * kernelSize.width + kx) * channels + c) * filters + f)
            }
        } }
    } } } }
    return (rows.length, columns.length)
}

/// Calls `body(output, input, weight)` with the flat indices of every product
/// `x[input] * kernel[weight]` that Conv2DTranspose scatters onto `y[output]`:
/// the output's size is Keras's (`valid`: `in * s + max(e - s, 0)`, `same`:
/// `in * s`) and its crop the leading padding of a Conv2D of that size. `kernel`
/// is (KH, KW, F, C). Returns the output's height and width.
/// Conv2DTranspose's output height and width: Keras's `in * s + max(e - s, 0)`
/// (`valid`) or `in * s` (`same`).
private func referenceTransposeSize(
    height: Int, width: Int, kernelSize: (height: Int, width: Int), strides: (height: Int, width: Int),
    dilation: (height: Int, width: Int), padding: ConvolutionPadding
) -> (height: Int, width: Int) {
    func length(_ size: Int, _ k: Int, _ s: Int, _ d: Int) -> Int {
        padding == .same ? size * s : size * s + max((k - 1) * d + 1 - s, 0)
    }
    return (length(height, kernelSize.height, strides.height, dilation.height),
            length(width, kernelSize.width, strides.width, dilation.width))
}

private func forEachConv2DTransposeProduct(
    batch: Int, height: Int, width: Int, channels: Int, kernelSize: (height: Int, width: Int), filters: Int,
    strides: (height: Int, width: Int), dilation: (height: Int, width: Int), padding: ConvolutionPadding,
    _ body: (_ output: Int, _ input: Int, _ weight: Int) -> Void
) -> (height: Int, width: Int) {
    let (outputHeight, outputWidth) = referenceTransposeSize(height: height, width: width, kernelSize: kernelSize,
                                                             strides: strides, dilation: dilation, padding: padding)
    let top = referenceAxis(outputHeight, kernel: kernelSize.height, stride: strides.height, dilation: dilation.height,
                            padding: padding).padBefore
    let left = referenceAxis(outputWidth, kernel: kernelSize.width, stride: strides.width, dilation: dilation.width,
                             padding: padding).padBefore
    for b in 0 ..< batch { for iy in 0 ..< height { for ix in 0 ..< width {
        for ky in 0 ..< kernelSize.height { for kx in 0 ..< kernelSize.width {
            let oy = iy * strides.height - top + ky * dilation.height
            let ox = ix * strides.width - left + kx * dilation.width
            guard oy >= 0, oy < outputHeight, ox >= 0, ox < outputWidth else { continue }
            for f in 0 ..< filters { for c in 0 ..< channels {
                body(((b * outputHeight + oy) * outputWidth + ox) * filters + f, ((b * height + iy) * width + ix) * channels + c,
                     ((ky * kernelSize.width + kx) * filters + f) * channels + c)
            } }
        } }
    } } }
    return (outputHeight, outputWidth)
}

/// Conv2D by its definition (see the file comment): the output (B, OH, OW, F)
/// in row-major order with its height and width. `kernel` is (KH, KW, C, F).
///
/// - Complexity: `O(B * OH * OW * KH * KW * C * F)`; for tests only.
package func referenceConv2D(
    input: [Float], batch: Int, height: Int, width: Int, channels: Int,
    kernel: [Float], kernelSize: (height: Int, width: Int), filters: Int, bias: [Float]?,
    strides: (height: Int, width: Int), dilation: (height: Int, width: Int), padding: ConvolutionPadding
) -> (output: [Float], height: Int, width: Int) {
    let rows = referenceAxis(height, kernel: kernelSize.height, stride: strides.height, dilation: dilation.height, padding: padding)
    let columns = referenceAxis(width, kernel: kernelSize.width, stride: strides.width, dilation: dilation.width, padding: padding)
    var sums = [Double](repeating: 0, count: batch * rows.length * columns.length * filters)
    let size = forEachConv2DProduct(batch: batch, height: height, width: width, channels: channels, kernelSize: kernelSize,
                                    filters: filters, strides: strides, dilation: dilation, padding: padding) { out, at, w in
        sums[out] += Double(input[at]) * Double(kernel[w])
    }
    let output = sums.indices.map { Float(sums[$0] + Double(bias?[$0 % filters] ?? 0)) }
    return (output, size.height, size.width)
}

/// Conv2DTranspose by its definition (see the file comment): every input pixel
/// scatters `x * kernel` onto the output (see `forEachConv2DTransposeProduct`).
/// `kernel` is (KH, KW, F, C).
///
/// - Complexity: `O(B * H * W * KH * KW * C * F)`; for tests only.
package func referenceConv2DTranspose(
    input: [Float], batch: Int, height: Int, width: Int, channels: Int,
    kernel: [Float], kernelSize: (height: Int, width: Int), filters: Int, bias: [Float]?,
    strides: (height: Int, width: Int), dilation: (height: Int, width: Int), padding: ConvolutionPadding
) -> (output: [Float], height: Int, width: Int) {
    let size = referenceTransposeSize(height: height, width: width, kernelSize: kernelSize, strides: strides,
                                      dilation: dilation, padding: padding)
    var sums = [Double](repeating: 0, count: batch * size.height * size.width * filters)
    _ = forEachConv2DTransposeProduct(batch: batch, height: height, width: width, channels: channels,
                                      kernelSize: kernelSize, filters: filters, strides: strides, dilation: dilation,
                                      padding: padding) { out, at, w in
        sums[out] += Double(input[at]) * Double(kernel[w])
    }
    let output = sums.indices.map { Float(sums[$0] + Double(bias?[$0 % filters] ?? 0)) }
    return (output, size.height, size.width)
}

/// The gradients of `L = sum(output * outputGradient)` (no activation) for
/// ``referenceConv2D(input:batch:height:width:channels:kernel:kernelSize:filters:bias:strides:dilation:padding:)``
/// or, `transposed`, ``referenceConv2DTranspose(input:batch:height:width:channels:kernel:kernelSize:filters:bias:strides:dilation:padding:)``,
/// over the same products as the forward twin: each `x * kernel` of the
/// forward sum sends `outputGradient * kernel` to x and `outputGradient * x` to
/// the kernel.
///
/// - Parameter outputGradient: (B, OH, OW, F), OH and OW as the forward twin gives them.
/// - Returns: dL/dinput (B, H, W, C), dL/dkernel (the kernel's layout), dL/dbias (F).
/// - Complexity: `O(B * OH * OW * KH * KW * C * F)` (`O(B * H * W * ...)`
///   transposed); for tests only.
package func referenceConvolutionBackward(
    transposed: Bool, input: [Float], batch: Int, height: Int, width: Int, channels: Int,
    kernel: [Float], kernelSize: (height: Int, width: Int), filters: Int,
    strides: (height: Int, width: Int), dilation: (height: Int, width: Int), padding: ConvolutionPadding,
    outputGradient: [Float]
) -> (input: [Float], kernel: [Float], bias: [Float]) {
    referenceProductsBackward(input: input, kernel: kernel, filters: filters, outputGradient: outputGradient) { body in
        let products = transposed ? forEachConv2DTransposeProduct : forEachConv2DProduct
        _ = products(batch, height, width, channels, kernelSize, filters, strides, dilation, padding, body)
    }
}

/// The backward of a sum of products `output[out] += input[at] * kernel[w]`
/// that `products` lists: each sends `outputGradient[out] * kernel[w]` to
/// input `at` and `outputGradient[out] * input[at]` to kernel entry `w`, in Double.
private func referenceProductsBackward(
    input: [Float], kernel: [Float], filters: Int, outputGradient: [Float],
    products: (_ body: (_ out: Int, _ at: Int, _ w: Int) -> Void) -> Void
) -> (input: [Float], kernel: [Float], bias: [Float]) {
    var (dInput, dKernel) = ([Double](repeating: 0, count: input.count), [Double](repeating: 0, count: kernel.count))
    products { out, at, w in
        dInput[at] += Double(outputGradient[out]) * Double(kernel[w])
        dKernel[w] += Double(outputGradient[out]) * Double(input[at])
    }
    return (dInput.map(Float.init), dKernel.map(Float.init), biasGradient(outputGradient, filters: filters))
}

/// dL/dbias (F): the output gradient summed over every position.
private func biasGradient(_ outputGradient: [Float], filters: Int) -> [Float] {
    var sums = [Double](repeating: 0, count: filters)
    for (index, g) in outputGradient.enumerated() { sums[index % filters] += Double(g) }
    return sums.map(Float.init)
}
