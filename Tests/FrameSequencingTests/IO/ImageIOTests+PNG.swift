import Foundation
import FrameSequencing
import TestSupport
import XCTest
@testable import FrameSequencingIO

/// PNG reading of reference files, writing, and round trips.
extension ImageIOTests {
    /// The names (without extension) of the reference PNG files in `Data/`.
    func referencePNGNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: ImageIOTests.dataDirectory)
            .filter { $0.hasSuffix(".png") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// The pixels `make_pngs.py` stored beside reference file `name`.
    func expectedPixels(_ name: String) throws -> ByteImage {
        let array = try NPY.read(contentsOf: ImageIOTests.dataDirectory + "/\(name).npy")
        guard case .uint8(let pixels) = array.data, array.shape.count == 3 else {
            throw FrameSequencingError.invalidArgument(name: name, expected: "uint8 (h, w, c)", actual: "\(array.shape)")
        }
        return try ByteImage(shape: FrameShape(height: array.shape[0], width: array.shape[1], channels: array.shape[2]),
                             pixels: pixels)
    }

    /// A seeded image: random, constant, or a smooth gradient with noise.
    func sampleImage(height: Int, width: Int, channels: Int, kind: String, seed: UInt64 = 1) throws -> ByteImage {
        let shape = try FrameShape(height: height, width: width, channels: channels)
        let count = shape.featureCount
        let pixels: [UInt8]
        switch kind {
        case "random": pixels = TestData.randomBytes(count: count, seed: seed)
        case "constant": pixels = [UInt8](repeating: 173, count: count)
        default:
            let noise = TestData.randomBytes(count: count, seed: seed)
            pixels = (0 ..< count).map { i in
                let (row, column, channel) = (i / (width * channels), i / channels % width, i % channels)
                return UInt8(truncatingIfNeeded: row * 3 + column * 2 + channel * 50 + Int(noise[i] % 4))
            }
        }
        return try ByteImage(shape: shape, pixels: pixels)
    }

    func testPNGReadsReferenceFilesOfEveryColourTypeDepthFilterAndInterlace() throws {
        let names = try referencePNGNames()
        // make_pngs.py writes 29 files by hand and 4 through libpng.
        XCTAssertEqual(names.count, 33, "\(names)")
        for name in names {
            let image = try PNG.read(contentsOf: ImageIOTests.dataDirectory + "/\(name).png")
            XCTAssertEqual(image, try expectedPixels(name), name)
        }
    }

    func testPNGReadsWhatLibpngWrites() throws {
        // Written by tf.io.encode_png (libpng, level 9): its own filter choice and deflate.
        for name in ["libpng_grey", "libpng_rgb", "libpng_rgba", "libpng_grey16"] {
            let image = try PNG.read(contentsOf: ImageIOTests.dataDirectory + "/\(name).png")
            XCTAssertEqual(image, try expectedPixels(name), name)
        }
        XCTAssertEqual(try PNG.read(contentsOf: ImageIOTests.dataDirectory + "/libpng_rgba.png").shape.channels, 3)
    }

    func testPNGScalesLowAnd16BitDepthsAndDropsAlphaAsDocumented() throws {
        // 16-bit grey: round(v * 255 / 65535), not the high byte (0x00FF -> 1, 0x0080 -> 0).
        let grey16 = try PNG.read(contentsOf: ImageIOTests.dataDirectory + "/grey16.png")
        XCTAssertEqual(grey16.pixels, [0, 128, 127, 255, 1, 128, 18, 254, 1, 0, 0, 171])
        // 1-bit grey is 0 or 255.
        let grey1 = try PNG.read(contentsOf: ImageIOTests.dataDirectory + "/grey1.png")
        XCTAssertTrue(grey1.pixels.allSatisfy { $0 == 0 || $0 == 255 })
        XCTAssertEqual(Set(try PNG.read(contentsOf: ImageIOTests.dataDirectory + "/grey2.png").pixels).subtracting([0, 85, 170, 255]), [])
        // A 1-bit palette of red and blue becomes RGB.
        let palette1 = try PNG.read(contentsOf: ImageIOTests.dataDirectory + "/palette1.png")
        XCTAssertEqual(palette1.shape.channels, 3)
        XCTAssertTrue(stride(from: 0, to: palette1.pixels.count, by: 3).allSatisfy { [255, 0].contains(palette1.pixels[$0]) })
        XCTAssertEqual(try PNG.read(contentsOf: ImageIOTests.dataDirectory + "/greyalpha8.png").shape.channels, 1)
    }

    func testPNGRoundTripsGreyAndRGBImagesOfOddSizes() throws {
        let directory = try scratchDirectory()
        let sizes = [(1, 1), (1, 17), (17, 1), (5, 7), (2, 3), (64, 64), (33, 65)]
        for (height, width) in sizes {
            for channels in [1, 3] {
                for kind in ["random", "constant", "gradient"] {
                    let image = try sampleImage(height: height, width: width, channels: channels, kind: kind)
                    let label = "\(height)x\(width)x\(channels) \(kind)"
                    XCTAssertEqual(try PNG.decode(PNG.encode(image)), image, label)
                    let path = directory + "/\(height)-\(width)-\(channels)-\(kind).png"
                    try PNG.write(image, to: path)
                    XCTAssertEqual(try PNG.read(contentsOf: path), image, label)
                }
            }
        }
        // A large image spans two IDAT chunks (1 MiB each at most) and many deflate blocks.
        let large = try sampleImage(height: 700, width: 600, channels: 3, kind: "random", seed: 5)
        let bytes = try PNG.encode(large)
        XCTAssertEqual(try PNGChunks(parsing: bytes, name: "large").imageData.count, 2)
        XCTAssertEqual(try PNG.decode(bytes), large)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".") }, [])
    }

    func testPNGCompressesConstantAndSmoothImagesALot() throws {
        // 256x256 grey: 65,792 bytes of scanlines; zlib -6 compresses the same
        // filtered scanlines to 509 bytes, and the file adds 57 bytes of chunks.
        let constant = try sampleImage(height: 256, width: 256, channels: 1, kind: "constant")
        XCTAssertLessThan(try PNG.encode(constant).count, 600)
        // 100x100 RGB: 30,100 bytes of scanlines (zlib -6: 233 bytes).
        let rgb = try sampleImage(height: 100, width: 100, channels: 3, kind: "constant")
        XCTAssertLessThan(try PNG.encode(rgb).count, 300)
        // Gradients with two bits of noise per sample: the filters leave small residues.
        let smooth = try sampleImage(height: 128, width: 128, channels: 3, kind: "gradient")
        XCTAssertLessThan(try PNG.encode(smooth).count, smooth.pixels.count / 2)
    }

    func testPNGWriterPicksTheFilterWithTheSmallestResiduesPerRow() throws {
        /// The filter type byte of every scanline of `image` as written.
        func filterTypes(_ image: ByteImage) throws -> [UInt8] {
            let bytes = try PNG.encode(image)
            let compressed = try PNGChunks(parsing: bytes, name: "x").imageData.flatMap { bytes[$0] }
            let rowBytes = image.shape.width * image.shape.channels + 1
            let scanlines = try Inflater.decompressZlib(compressed, outputCount: rowBytes * image.shape.height, name: "x", what: "x")
            return stride(from: 0, to: scanlines.count, by: rowBytes).map { scanlines[$0] }
        }
        // The sum of |residue| (bytes read as signed) of filter `type` on `row`, computed naively.
        func residueSum(_ pixels: [UInt8], _ shape: FrameShape, row: Int, type: Int) -> Int {
            let width = shape.width * shape.channels
            func at(_ r: Int, _ i: Int) -> Int { r < 0 || i < 0 ? 0 : Int(pixels[r * width + i]) }
            return (0 ..< width).reduce(0) { sum, i in
                let (a, b, c) = (at(row, i - shape.channels), at(row - 1, i), at(row - 1, i - shape.channels))
                let p = a + b - c
                let paeth = abs(p - a) <= abs(p - b) && abs(p - a) <= abs(p - c) ? a : (abs(p - b) <= abs(p - c) ? b : c)
                let predicted = [0, a, b, (a + b) / 2, paeth][type]
                let residue = (at(row, i) - predicted) & 0xFF
                return sum + min(residue, 256 - residue)
            }
        }
        for (channels, kind) in [(1, "gradient"), (3, "gradient"), (3, "random"), (1, "constant")] {
            let image = try sampleImage(height: 9, width: 13, channels: channels, kind: kind, seed: 8)
            let chosen = try filterTypes(image)
            for row in 0 ..< 9 {
                let sums = (0 ... 4).map { residueSum(image.pixels, image.shape, row: row, type: $0) }
                XCTAssertEqual(Int(chosen[row]), sums.firstIndex(of: sums.min()!), "\(kind) \(channels) row \(row): \(sums)")
            }
        }
        // Every row the same random bytes: Up (2) leaves zeros after the first row.
        let shape = try FrameShape(height: 6, width: 40, channels: 1)
        let row = TestData.randomBytes(count: 40, seed: 4)
        let repeated = try filterTypes(ByteImage(shape: shape, pixels: Array(repeating: row, count: 6).flatMap { $0 }))
        XCTAssertEqual(Array(repeated.dropFirst()), [2, 2, 2, 2, 2])
        // A zero image needs no filter (ties go to the lower type).
        XCTAssertEqual(try filterTypes(ByteImage(shape: shape, pixels: [UInt8](repeating: 0, count: 240))), [0, 0, 0, 0, 0, 0])
    }

    func testPNGWriterRefusesChannelCountsOtherThanGreyAndRGB() throws {
        for channels in [2, 4] {
            let image = try sampleImage(height: 2, width: 2, channels: channels, kind: "random")
            assertThrows(.invalidArgument, "1 (grey) or 3 (RGB)") { try PNG.encode(image) }
        }
        let directory = try scratchDirectory()
        assertThrows(.fileSystem) { try PNG.write(sampleImage(height: 1, width: 1, channels: 1, kind: "random"), to: directory + "/no/dir/x.png") }
    }

    func testByteImageFromUnitValuesClampsRoundsAndRefusesNaN() throws {
        let shape = try FrameShape(height: 1, width: 7, channels: 1)
        let image = try ByteImage(clampingUnitValues: [-0.5, 0, 0.5, 0.502, 1, 1.5, 0.001], shape: shape)
        XCTAssertEqual(image.pixels, [0, 0, 128, 128, 255, 255, 0])
        // Bytes scaled by 1/255 come back exactly.
        let all = try FrameShape(height: 16, width: 16, channels: 1)
        let bytes = (0 ... 255).map { UInt8($0) }
        XCTAssertEqual(try ByteImage(clampingUnitValues: bytes.map { Float($0) * (1.0 / 255) }, shape: all).pixels, bytes)
        XCTAssertEqual(try ByteImage(clampingUnitValues: ByteImage(shape: all, pixels: bytes).tensor(scale: 1.0 / 255)).pixels, bytes)
        assertThrows(.nonFinite, "index 2") { try ByteImage(clampingUnitValues: [0, 1, .nan, 0, 0, 0, 0], shape: shape) }
        assertThrows(.nonFinite) { try ByteImage(clampingUnitValues: [0, 1, 0, .infinity, 0, 0, 0], shape: shape) }
        assertThrows(.elementCount) { try ByteImage(clampingUnitValues: [0, 1], shape: shape) }
        assertThrows(.elementCount) { try ByteImage(shape: shape, pixels: [1, 2, 3]) }
        assertThrows(.invalidArgument, "rank-3") { try ByteImage(clampingUnitValues: Tensor(shape: [2, 2])) }
    }
}
