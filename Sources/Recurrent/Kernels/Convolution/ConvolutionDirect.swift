// Conv2D forward without im2col, for stride 1 and dilation 1: the image itself
// is the patch matrix of each kernel row.
//
// Legend (as in ConvolutionPasses.swift): H x W x C one image, padded by the
// `same` padding to PH x PW (PH = OH + KH - 1, PW = OW + KW - 1); N filters.
//
// With the output computed "wide", one value per padded column (row r = oy * PW
// + ox for ox in 0 ..< PW, the last KW - 1 of each row garbage), kernel row ky
// contributes
//   wide[r, n] += sum over q in 0 ..< KW * C of padded[(r + ky * PW) * C + q] * kernel[ky, q, n]
// so the A operand of kernel row ky is the padded image read in place, row r
// at `(r + ky * PW) * C` with consecutive rows C apart (they overlap), K = KW * C.
// One product takes the KH kernel rows as KH runs of its depth
// (`PackedMatrixB.multiplySegments`), so each tile of the wide output is summed
// over the whole kernel before it is stored; the valid columns are then copied
// out with the bias and the activation (or pooled first, for inference through
// a max pooling: ConvolutionPooling.swift). The last row read ends exactly
// at the padded image's last value, so nothing past it is touched.
//
// It saves writing and reading the patches (K / C times the image) for each
// image, which was a sixth of cnnlstm.seed2's forward pass.

import FrameSequencing

/// A stride-1, dilation-1 convolution run as KH in-place products per image.
struct DirectConvolution {
    let g: ConvolutionGeometry
    let n: Int
    /// The whole [KH * KW * C, N] kernel in one depth block: one segmented
    /// product (a run per kernel row) sums all KH kernel rows per tile, so the
    /// wide output is written once instead of read and written KH times.
    let kernel: PackedMatrixB
    let bias: UnsafePointer<Float>?
    let activation: Activation
    let paddedHeight: Int, paddedWidth: Int

    /// The direct pass applies: stride 1, dilation 1, and kernel rows long
    /// enough (KW * C >= 16) for the products to beat building patches.
    static func applies(_ g: ConvolutionGeometry) -> Bool {
        g.strideHeight == 1 && g.strideWidth == 1 && g.dilationHeight == 1 && g.dilationWidth == 1
            && g.kernelWidth * g.channels >= 3
    }

    init(_ g: ConvolutionGeometry, matrix: UnsafePointer<Float>, columns n: Int, bias: UnsafePointer<Float>?,
         activation: Activation) {
        precondition(Self.applies(g), "DirectConvolution needs stride 1 and dilation 1")
        self.g = g
        self.n = n
        self.bias = bias
        self.activation = activation
        let run = g.kernelWidth * g.channels
        kernel = PackedMatrixB(b: matrix, ldb: n, transposed: false, k: g.kernelHeight * run, n: n, maximumRows: 1,
                               wholeDepth: true)
        paddedHeight = g.outputHeight + g.kernelHeight - 1
        paddedWidth = g.outputWidth + g.kernelWidth - 1
    }

    private var needsPadding: Bool { paddedHeight != g.height || paddedWidth != g.width }
    /// Rows of the wide output that hold every valid one.
    private var wideRows: Int { (g.outputHeight - 1) * paddedWidth + g.outputWidth }

    /// Floats of scratch one image needs: the padded image (when padded) and the wide output.
    var scratchCount: Int { (needsPadding ? paddedHeight * paddedWidth * g.channels : 0) + wideRows * n }

    /// Image `b` of `images`: overwrites `output` [OH * OW, N] with
    /// `activation(conv + bias)`. `scratch` holds ``scratchCount`` floats.
    func run(_ b: Int, images: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
             output: UnsafeMutablePointer<Float>) {
        let wide = convolveWide(b, images: images, scratch: scratch)
        for oy in 0 ..< g.outputHeight {
            let y = output + oy * g.outputWidth * n
            y.update(from: wide + oy * paddedWidth * n, count: g.outputWidth * n)
            addBiasAndActivate(y, pixels: g.outputWidth)
        }
    }

    /// `activation(values + bias)` on `pixels` pixels of N values, in place.
    func addBiasAndActivate(_ values: UnsafeMutablePointer<Float>, pixels: Int) {
        if let bias {
            for pixel in 0 ..< pixels {
                let p = values + pixel * n
                for j in 0 ..< n { p[j] += bias[j] }
            }
        }
        activation.apply(values, count: pixels * n)
    }

    /// Image `b`'s convolution without bias or activation, "wide" (see the file
    /// comment): output pixel (oy, ox) at `(oy * paddedWidth + ox) * N` of the
    /// returned pointer, which is in `scratch`.
    func convolveWide(_ b: Int, images: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>)
        -> UnsafePointer<Float> {
        let c = g.channels
        var source = images + b * g.imageLength
        var wide = scratch
        if needsPadding {
            let padded = scratch
            wide = scratch + paddedHeight * paddedWidth * c
            padded.update(repeating: 0, count: paddedHeight * paddedWidth * c)
            for y in 0 ..< g.height {
                let row = padded + ((y + g.padTop) * paddedWidth + g.padLeft) * c
                row.update(from: source + y * g.width * c, count: g.width * c)
            }
            source = UnsafePointer(padded)
        }
        kernel.multiplySegments(m: wideRows, a: source, lda: c, segments: g.kernelHeight,
                                segmentStride: paddedWidth * c, beta: 0, c: wide, ldc: n)
        return UnsafePointer(wide)
    }
}
