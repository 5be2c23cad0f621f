import FrameSequencingCore

// From PNG scanlines to 8-bit samples and back: the IHDR fields and the sizes
// they imply, the five filters (PNG specification, section 9), Adam7 passes,
// and the conversion of every colour type and bit depth to grey or RGB bytes.

/// The validated IHDR fields of a PNG file.
struct PNGHeader {
    let width: Int
    let height: Int
    let bitDepth: Int
    /// 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA.
    let colorType: Int
    let interlaced: Bool

    /// Samples per pixel in the file.
    var fileChannels: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]! }
    /// Channels decoded: grey (1) or RGB (3); alpha is dropped, palettes expanded.
    var outputChannels: Int { colorType == 0 || colorType == 4 ? 1 : 3 }
    var bitsPerPixel: Int { fileChannels * bitDepth }
    /// The byte distance to the pixel "to the left" that filters use (at least 1).
    var filterStride: Int { max(1, bitsPerPixel / 8) }

    /// One reduced image of the scanline data: `width x height` pixels placed at
    /// (`y0 + row * dy`, `x0 + column * dx`) of the image.
    struct Pass {
        let width, height, x0, y0, dx, dy: Int
    }

    /// The one full pass of a non-interlaced image, or the seven Adam7 passes
    /// (empty ones included: they hold no bytes).
    var passes: [Pass] {
        guard interlaced else { return [Pass(width: width, height: height, x0: 0, y0: 0, dx: 1, dy: 1)] }
        let adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        return adam7.map { x0, y0, dx, dy in
            Pass(width: width > x0 ? (width - x0 + dx - 1) / dx : 0,
                 height: height > y0 ? (height - y0 + dy - 1) / dy : 0, x0: x0, y0: y0, dx: dx, dy: dy)
        }
    }

    /// Bytes of one scanline of `pixels` pixels, without its filter byte (no
    /// overflow: the width is below 2^31 and bits per pixel at most 64).
    func rowBytes(_ pixels: Int) -> Int { (pixels * bitsPerPixel + 7) / 8 }

    /// The size of the decompressed scanline data: each non-empty pass's rows,
    /// each with its filter byte; `nil` when it does not fit in `Int`.
    var filteredByteCount: Int? {
        var total = 0
        for pass in passes where pass.width > 0 && pass.height > 0 {
            let (bytes, overflow) = (rowBytes(pass.width) + 1).multipliedReportingOverflow(by: pass.height)
            guard !overflow, total.addingReportingOverflow(bytes).overflow == false else { return nil }
            total += bytes
        }
        return total
    }

    /// Which bit depths each colour type allows (PNG specification, table 11.1).
    static let allowedBitDepths: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
}

enum PNGPixels {
    /// Undoes the filters of `data` (every pass's scanlines, each led by its
    /// filter type byte) in place, then converts the pixels to 8-bit grey or RGB
    /// samples (height, width, outputChannels).
    ///
    /// `palette` holds RGB triples for colour type 3. Throws `malformedFile` for a
    /// filter type above 4 and a palette index past the palette's end.
    static func decode(_ data: inout [UInt8], header: PNGHeader, palette: [UInt8], name: String) throws -> [UInt8] {
        let channels = header.outputChannels
        var output = [UInt8](repeating: 0, count: header.width * header.height * channels)
        let stride = header.filterStride
        var offset = 0
        for pass in header.passes where pass.width > 0 && pass.height > 0 {
            let rowBytes = header.rowBytes(pass.width)
            for row in 0 ..< pass.height {
                let filter = data[offset]
                guard filter <= 4 else {
                    throw FrameSequencingError.malformedFile(
                        path: name, reason: "scanline \(row) of its image data has filter type \(filter); types 0...4 exist")
                }
                let start = offset + 1
                data.withUnsafeMutableBufferPointer { bytes in
                    let line = bytes.baseAddress! + start
                    // The previous scanline of this pass, or none (zeros) for the first.
                    let prior: UnsafeMutablePointer<UInt8>? = row == 0 ? nil : line - rowBytes - 1
                    unfilter(line, prior: prior, count: rowBytes, stride: stride, filter: filter)
                }
                try convertRow(data, lineStart: start, pass: pass, outputRow: pass.y0 + row * pass.dy,
                               header: header, palette: palette, into: &output, name: name)
                offset = start + rowBytes
            }
        }
        return output
    }

    /// Reverses filter `filter` on one scanline: `line[i] += predictor(left, up, upper left)`.
    static func unfilter(_ line: UnsafeMutablePointer<UInt8>, prior: UnsafeMutablePointer<UInt8>?, count: Int, stride: Int, filter: UInt8) {
        for i in 0 ..< count {
            let left = i >= stride ? line[i - stride] : 0
            let up = prior?[i] ?? 0
            let upperLeft = i >= stride ? prior?[i - stride] ?? 0 : 0
            line[i] &+= predictor(filter, left: left, up: up, upperLeft: upperLeft)
        }
    }

    /// The value filter type `filter` predicts from the neighbouring bytes.
    @inline(__always)
    static func predictor(_ filter: UInt8, left: UInt8, up: UInt8, upperLeft: UInt8) -> UInt8 {
        switch filter {
        case 1: return left
        case 2: return up
        case 3: return UInt8((Int(left) + Int(up)) / 2)
        case 4: return paeth(left, up, upperLeft)
        default: return 0
        }
    }

    /// The neighbour closest to `left + up - upperLeft`, ties to left, then up.
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let estimate = Int(a) + Int(b) - Int(c)
        let (da, db, dc) = (abs(estimate - Int(a)), abs(estimate - Int(b)), abs(estimate - Int(c)))
        if da <= db && da <= dc { return a }
        return db <= dc ? b : c
    }

    /// The scanlines of 8-bit `pixels` ((height, width, channels)), each led by the
    /// filter type that gives the smallest sum of its bytes read as signed values
    /// (libpng's "minimum sum of absolute differences" heuristic; ties go to the
    /// lower type). Small signed residues compress well: the heuristic picks Up
    /// for a row like the one above, Sub for a horizontal ramp, None for zeros.
    static func filteredScanlines(_ pixels: [UInt8], shape: FrameShape) -> [UInt8] {
        let rowBytes = shape.width * shape.channels
        let stride = shape.channels
        var output = [UInt8]()
        output.reserveCapacity(shape.height * (rowBytes + 1))
        var best = [UInt8](repeating: 0, count: rowBytes)
        var candidate = best
        pixels.withUnsafeBufferPointer { source in
            for row in 0 ..< shape.height {
                let line = source.baseAddress! + row * rowBytes
                let prior: UnsafePointer<UInt8>? = row == 0 ? nil : line - rowBytes
                var bestFilter: UInt8 = 0
                var bestSum = Int.max
                for filter: UInt8 in 0 ... 4 {
                    var sum = 0
                    for i in 0 ..< rowBytes {
                        let left = i >= stride ? line[i - stride] : 0
                        let up = prior?[i] ?? 0
                        let upperLeft = i >= stride ? prior?[i - stride] ?? 0 : 0
                        let residue = line[i] &- predictor(filter, left: left, up: up, upperLeft: upperLeft)
                        candidate[i] = residue
                        sum += Int(min(residue, 0 &- residue))
                    }
                    if sum < bestSum {
                        (bestSum, bestFilter) = (sum, filter)
                        swap(&best, &candidate)
                    }
                }
                output.append(bestFilter)
                output.append(contentsOf: best)
            }
        }
        return output
    }

    /// Converts the unfiltered scanline at `data[lineStart...]` (row `outputRow`
    /// of the image, pixels `pass.x0`, `pass.x0 + pass.dx`, ...) to `outputChannels`
    /// bytes per pixel in `output`.
    private static func convertRow(_ data: [UInt8], lineStart: Int, pass: PNGHeader.Pass, outputRow: Int, header: PNGHeader,
                                   palette: [UInt8], into output: inout [UInt8], name: String) throws {
        let channels = header.outputChannels
        let fileChannels = header.fileChannels
        let depth = header.bitDepth
        let step = pass.dx * channels
        var target = (outputRow * header.width + pass.x0) * channels
        switch (header.colorType, depth) {
        case (3, _):
            for column in 0 ..< pass.width {
                let index = packedSample(data, lineStart: lineStart, index: column, depth: depth)
                guard 3 * index + 2 < palette.count else {
                    throw FrameSequencingError.malformedFile(
                        path: name, reason: "a pixel uses palette entry \(index) but its palette has \(palette.count / 3) entries")
                }
                output[target] = palette[3 * index]
                output[target + 1] = palette[3 * index + 1]
                output[target + 2] = palette[3 * index + 2]
                target += step
            }
        case (_, 8):
            // Grey, RGB, and the colour part of grey+alpha and RGBA (alpha, the last sample, is skipped).
            var source = lineStart
            for _ in 0 ..< pass.width {
                for channel in 0 ..< channels { output[target + channel] = data[source + channel] }
                source += fileChannels
                target += step
            }
        case (_, 16):
            var source = lineStart
            for _ in 0 ..< pass.width {
                for channel in 0 ..< channels {
                    let value = Int(data[source + 2 * channel]) << 8 | Int(data[source + 2 * channel + 1])
                    output[target + channel] = scaledToByte(value, maximum: 65535)
                }
                source += 2 * fileChannels
                target += step
            }
        default:
            // Grey at 1, 2 or 4 bits.
            for column in 0 ..< pass.width {
                output[target] = scaledToByte(packedSample(data, lineStart: lineStart, index: column, depth: depth), bitDepth: depth)
                target += step
            }
        }
    }

    /// Sample `index` of a scanline of one-sample pixels at `depth` 1, 2, 4 or 8
    /// bits; packed samples fill each byte from its high bits.
    private static func packedSample(_ data: [UInt8], lineStart: Int, index: Int, depth: Int) -> Int {
        guard depth < 8 else { return Int(data[lineStart + index]) }
        let bit = index * depth
        return Int(data[lineStart + bit / 8]) >> (8 - depth - bit % 8) & (1 << depth - 1)
    }

    /// A sample of `bitDepth` bits as the nearest 8-bit value: `round(v * 255 / (2^bitDepth - 1))`.
    ///
    /// Exact for depths 1, 2 and 4 (multiples 255, 85, 17); for 16 bits this
    /// rounds rather than taking the high byte, so 0x00FF becomes 1, not 0.
    static func scaledToByte(_ value: Int, bitDepth: Int) -> UInt8 {
        scaledToByte(value, maximum: (1 << bitDepth) - 1)
    }

    /// `round(value * 255 / maximum)` for `0 <= value <= maximum`, `maximum` in 1...65535.
    static func scaledToByte(_ value: Int, maximum: Int) -> UInt8 {
        UInt8((value * 255 + maximum / 2) / maximum)
    }
}
