// The shape arithmetic of one 2-D convolution, channels last: TensorFlow's
// padding rules and where each patch of the im2col matrix reads its pixels.
//
// Legend: B batch; H x W x C the image side (a Conv2D's input, a
// Conv2DTranspose's output); OH x OW the patch grid (a Conv2D's output, a
// Conv2DTranspose's input); KH x KW kernel taps; SH, SW strides; DH, DW
// dilation; K = KH * KW * C the length of one patch.
//
// TensorFlow's rules along one axis of length `in`, with the dilated kernel
// extent `e = (k - 1) * d + 1`:
//   valid: out = floor((in - e) / s) + 1, no padding (out <= 0: no output)
//   same:  out = ceil(in / s), padTotal = max((out - 1) * s + e - in, 0),
//          padBefore = floor(padTotal / 2), the odd row or column after.

/// Output length and leading padding of one axis under TensorFlow's rules (see
/// the file comment). The length is zero or negative when a `valid` kernel is
/// longer than the input.
func convolutionAxis(
    input: Int, kernel: Int, stride: Int, dilation: Int, padding: ConvolutionPadding
) -> (length: Int, padBefore: Int) {
    let extent = (kernel - 1) * dilation + 1
    switch padding {
    case .valid:
        guard input >= extent else { return (0, 0) }
        return ((input - extent) / stride + 1, 0)
    case .same:
        let length = (input + stride - 1) / stride
        let total = max((length - 1) * stride + extent - input, 0)
        return (length, total / 2)
    }
}

/// Where the patches of a convolution read their pixels: sizes, strides,
/// dilation and leading padding (the trailing padding is implied by the grid).
///
/// Patch `(b, oy, ox)`, row `(b * OH + oy) * OW + ox` of the im2col matrix,
/// holds at column `(ky * KW + kx) * C + c` the pixel
/// `image[b, oy * SH - padTop + ky * DH, ox * SW - padLeft + kx * DW, c]`, or 0
/// where that position is padding. This column order is Keras's kernel layout
/// (KH, KW, C, F) read as a [K, F] matrix.
struct ConvolutionGeometry: Sendable, Equatable {
    let batch: Int
    let height: Int, width: Int, channels: Int
    let kernelHeight: Int, kernelWidth: Int
    let strideHeight: Int, strideWidth: Int
    let dilationHeight: Int, dilationWidth: Int
    let padTop: Int, padLeft: Int
    let outputHeight: Int, outputWidth: Int

    /// K: values in one patch.
    var patchLength: Int { kernelHeight * kernelWidth * channels }
    /// OH * OW: patch rows per image.
    var rowsPerImage: Int { outputHeight * outputWidth }
    /// B * OH * OW: rows of the im2col matrix.
    var rowCount: Int { batch * rowsPerImage }
    /// H * W * C: values in one image.
    var imageLength: Int { height * width * channels }
}
