import FrameSequencing
import XCTest
@testable import Recurrent

/// The C element-wise ConvLSTM kernels (AVX-512, AVX2) against their Swift
/// twins: the cell update forward and backward, with and without peepholes,
/// and Winograd's tile transforms through `Winograd3x3.accumulate`, on filter
/// and channel counts that are not multiples of the vector widths (16, 8) and
/// images of odd size (partial edge tiles).
///
/// Tolerance: the C kernels fuse multiply-adds where the Swift ones round each
/// product, and the activations agree to 1.5e-7, so results differ by a few
/// ulps (the transforms, adds only, agree bit for bit); the worst seen is
/// printed per case (6e-7 backward), against 2e-6 + 2e-6 relative.
final class ConvLSTMCellKernelTests: XCTestCase {
    let tolerance = (atol: Float(2e-6), rtol: Float(2e-6))
    var vectorPaths: [GEMMKernelPath] { GEMMKernelPath.available.filter { $0 != .swift } }

    func random(_ count: Int, seed: UInt64, scale: Float = 3) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0 ..< count).map { _ in Float.random(in: -scale ... scale, using: &generator) }
    }

    func assertClose(_ a: [Float], _ b: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, label, file: file, line: line)
        var worst: Float = 0
        for (x, y) in zip(a, b) {
            let difference = abs(x - y)
            worst = max(worst, difference)
            if !(difference <= tolerance.atol + tolerance.rtol * abs(y)) {
                XCTFail("\(label): \(x) vs Swift \(y)", file: file, line: line)
                return
            }
        }
        print("\(label): worst difference \(worst)")
    }

    func testCellForwardMatchesSwift() throws {
        try XCTSkipIf(vectorPaths.isEmpty, "no AVX2 on this CPU")
        for (rows, f, peepholes) in [(1, 1, false), (5, 7, true), (9, 20, false), (13, 33, true), (6, 64, false)] {
            let gates = random(rows * 4 * f, seed: 1), previous = random(rows * f, seed: 2)
            let stride = rows * f, w = random(3 * stride, seed: 3, scale: 0.5)
            func run(_ path: GEMMKernelPath, inPlace: Bool) -> [Float] {
                var (a, c, h) = (gates, inPlace ? previous : [Float](repeating: 0, count: rows * f),
                                 [Float](repeating: 0, count: rows * f))
                w.withUnsafeBufferPointer { w in
                    previous.withUnsafeBufferPointer { previous in
                        c.withUnsafeMutableBufferPointer { c in
                            convLSTMCellsForward(
                                rows: rows, filters: f, gates: &a, previousCell: inPlace ? UnsafePointer(c.baseAddress!)
                                    : previous.baseAddress!, cell: c.baseAddress!, hidden: &h,
                                peepholes: peepholes ? w.baseAddress! : nil, peepholeStride: stride, path: path)
                        }
                    }
                }
                return a + c + h
            }
            let reference = run(.swift, inPlace: false)
            for path in vectorPaths {
                for inPlace in [false, true] {
                    assertClose(run(path, inPlace: inPlace), reference,
                                "forward \(path) rows \(rows) F \(f) peepholes \(peepholes) in place \(inPlace)")
                }
            }
        }
    }

    func testCellBackwardMatchesSwift() throws {
        try XCTSkipIf(vectorPaths.isEmpty, "no AVX2 on this CPU")
        for (rows, f, peepholes, output) in [(1, 1, false, true), (5, 7, true, true), (9, 20, false, false),
                                             (13, 33, true, false), (6, 64, true, true)] {
            // Activated gates lie in (0, 1) (g in (-1, 1)); anything in range exercises the algebra.
            let gates = random(rows * 4 * f, seed: 4, scale: 1).map { abs($0) }
            let cell = random(rows * f, seed: 5), previous = random(rows * f, seed: 6)
            let dh = random(rows * f, seed: 7), dy = random(rows * f, seed: 8), dc = random(rows * f, seed: 9)
            let stride = rows * f, w = random(3 * stride, seed: 10, scale: 0.5), dw = random(3 * stride, seed: 11)
            func run(_ path: GEMMKernelPath) -> [Float] {
                var (dz, dcOut, dwOut) = ([Float](repeating: 0, count: rows * 4 * f), dc, dw)
                var tanhCell = [Float](repeating: 0, count: f)
                dwOut.withUnsafeMutableBufferPointer { dwOut in
                    convLSTMCellsBackward(
                        rows: rows, filters: f, gates: gates, gateGradient: &dz, cell: cell, previousCell: previous,
                        hiddenGradient: dh, outputGradient: output ? dy : nil, cellGradient: &dcOut,
                        peepholes: peepholes ? w : nil, peepholeGradient: peepholes ? dwOut.baseAddress! : nil,
                        peepholeStride: stride, tanhCell: &tanhCell, path: path)
                }
                return dz + dcOut + dwOut
            }
            let reference = run(.swift)
            for path in vectorPaths {
                assertClose(run(path), reference,
                            "backward \(path) rows \(rows) F \(f) peepholes \(peepholes) dy \(output)")
            }
        }
    }

    func testWinogradTransformsMatchSwift() throws {
        try XCTSkipIf(vectorPaths.isEmpty, "no AVX2 on this CPU")
        for (height, width, ci, co) in [(1, 1, 1, 1), (5, 7, 3, 12), (8, 6, 17, 9), (9, 11, 64, 40)] {
            let kernel = random(9 * ci * co, seed: 12, scale: 0.5), image = random(height * width * ci, seed: 13)
            let start = random(height * width * co, seed: 14)
            func run(_ path: GEMMKernelPath, overwrite: Bool) -> [Float] {
                let winograd = kernel.withUnsafeBufferPointer {
                    Winograd3x3(height: height, width: width, inputChannels: ci, outputChannels: co,
                                kernel: $0.baseAddress!, parts: 1, path: path)
                }
                var output = start
                for block in 0 ..< winograd.blocksPerImage {
                    winograd.accumulate(image: image, block: block, output: &output, outputStride: co, part: 0,
                                        overwrite: overwrite)
                }
                return output
            }
            for overwrite in [false, true] {
                let reference = run(.swift, overwrite: overwrite)
                for path in vectorPaths {
                    assertClose(run(path, overwrite: overwrite), reference,
                                "winograd \(path) \(height)x\(width) Ci \(ci) Co \(co) overwrite \(overwrite)")
                }
            }
        }
    }
}
