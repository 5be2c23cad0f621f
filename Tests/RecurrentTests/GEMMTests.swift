import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// Every available GEMM kernel path against the scalar `referenceGEMM`.
///
/// Tolerance: the reference sums in Double, so it is exact to within one Float
/// rounding. A Float32 dot product of length K with any summation order (and
/// FMA or not) is within `gamma(K) * sum_p |a_ip| |b_pj|` of exact, where
/// `gamma(K) ~ K * u` and `u = 2^-24` (Higham, Accuracy and Stability, 3.1);
/// alpha, beta and the final roundings add a few more roundings. Each case uses
/// `atol = (K + 4) * u * max_ij(|alpha| sum_p |a_ip||b_pj| + |beta||c_ij|)`,
/// a worst-case bound that no correct summation order can exceed and that a
/// wrong element (a missed or doubled term, of size ~|a||b|) cannot meet for
/// the sizes used here.
final class GEMMTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var m: Int, n: Int, k: Int
        var transposeA = false, transposeB = false
        var alpha: Float = 1, beta: Float = 0
        /// Extra elements at the end of every stored row of A, B and C.
        var padding = 3

        var description: String {
            "m=\(m) n=\(n) k=\(k) tA=\(transposeA) tB=\(transposeB) alpha=\(alpha) beta=\(beta) pad=\(padding)"
        }
    }

    /// Values in [-1, 1); the padding of A and B is NaN (a kernel that reads it
    /// poisons C), the padding of C a sentinel (a kernel that writes it is caught).
    struct Operands {
        var a: [Float], b: [Float], c: [Float]
        let lda: Int, ldb: Int, ldc: Int
        static let sentinel: Float = 12345

        init(_ t: Case, seed: UInt64) {
            var generator = SeededGenerator(seed: seed)
            // At least one element, so that an empty operand (k == 0) still has an address.
            func matrix(rows: Int, columns: Int, ld: Int, pad: Float) -> [Float] {
                rows == 0 ? [pad] : (0 ..< rows * ld).map { $0 % ld < columns ? 2 * generator.nextUnitFloat() - 1 : pad }
            }
            let (aRows, aColumns) = t.transposeA ? (t.k, t.m) : (t.m, t.k)
            let (bRows, bColumns) = t.transposeB ? (t.n, t.k) : (t.k, t.n)
            (lda, ldb, ldc) = (max(1, aColumns + t.padding), max(1, bColumns + t.padding), t.n + t.padding)
            a = matrix(rows: aRows, columns: aColumns, ld: lda, pad: .nan)
            b = matrix(rows: bRows, columns: bColumns, ld: ldb, pad: .nan)
            c = matrix(rows: t.m, columns: t.n, ld: ldc, pad: Self.sentinel)
        }

        /// C after `gemm` on `path` (nil: `referenceGEMM`).
        func product(_ t: Case, path: GEMMKernelPath?, threaded: Bool = true) -> [Float] {
            var c = self.c
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        let (pa, pb, pc) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
                        if let path {
                            gemm(transposeA: t.transposeA, transposeB: t.transposeB, m: t.m, n: t.n, k: t.k,
                                 alpha: t.alpha, a: pa, lda: lda, b: pb, ldb: ldb, beta: t.beta, c: pc, ldc: ldc,
                                 path: path, threaded: threaded)
                        } else {
                            referenceGEMM(transposeA: t.transposeA, transposeB: t.transposeB, m: t.m, n: t.n, k: t.k,
                                          alpha: t.alpha, a: pa, lda: lda, b: pb, ldb: ldb, beta: t.beta, c: pc,
                                          ldc: ldc)
                        }
                    }
                }
            }
            return c
        }

        /// The worst-case error bound of the type's documentation.
        func tolerance(_ t: Case) -> Float {
            var worst: Float = 0
            for i in 0 ..< t.m {
                for j in 0 ..< t.n {
                    var magnitude: Float = 0
                    for p in 0 ..< t.k {
                        let x = t.transposeA ? a[p * lda + i] : a[i * lda + p]
                        let y = t.transposeB ? b[j * ldb + p] : b[p * ldb + j]
                        magnitude += abs(x * y)
                    }
                    worst = max(worst, abs(t.alpha) * magnitude + abs(t.beta) * abs(c[i * ldc + j]))
                }
            }
            return Float(t.k + 4) * Float.ulpOfOne / 2 * worst
        }

        /// The elements of C's `[m, n]` region, and of its padding.
        func split(_ c: [Float], _ t: Case) -> (values: [Float], padding: [Float]) {
            let indices = c.indices
            return (indices.filter { $0 % ldc < t.n }.map { c[$0] }, indices.filter { $0 % ldc >= t.n }.map { c[$0] })
        }
    }

    /// Runs `cases` on every available path; fails with the case, path and worst element.
    func check(_ cases: [Case], paths: [GEMMKernelPath] = GEMMKernelPath.available,
               file: StaticString = #filePath, line: UInt = #line) {
        for (index, t) in cases.enumerated() {
            let operands = Operands(t, seed: UInt64(index))
            let expected = operands.split(operands.product(t, path: nil), t)
            let atol = operands.tolerance(t)
            for path in paths {
                let actual = operands.split(operands.product(t, path: path), t)
                let values = compare("C", actual: actual.values, expected: expected.values, atol: atol)
                XCTAssert(values.passed, "\(path.rawValue) \(t): \(values) (atol \(atol))", file: file, line: line)
                let padding = compare("C padding", actual: actual.padding, expected: expected.padding)
                XCTAssert(padding.passed, "\(path.rawValue) \(t): wrote outside C: \(padding)", file: file, line: line)
            }
        }
    }

    /// Each case in all four transpose combinations, with beta 0 and 1.
    func variants(_ sizes: [(Int, Int, Int)], alpha: Float = 1) -> [Case] {
        sizes.flatMap { m, n, k in
            [(false, false), (false, true), (true, false), (true, true)].flatMap { tA, tB in
                [Float(0), 1].map { Case(m: m, n: n, k: k, transposeA: tA, transposeB: tB, alpha: alpha, beta: $0) }
            }
        }
    }

    func testPathsIncludeSwiftAndActiveIsAvailable() {
        XCTAssertTrue(GEMMKernelPath.available.contains(.swift))
        XCTAssertTrue(GEMMKernelPath.active.isAvailable)
        if ProcessInfo.processInfo.environment["FRAMESEQ_KERNELS"] == nil {
            XCTAssertEqual(GEMMKernelPath.active, GEMMKernelPath.available.last, "without FRAMESEQ_KERNELS the widest path runs")
        }
    }

    /// Sizes that are not multiples of any register block (4x8, 6x16, 14x32) or vector width.
    func testRaggedSizesAllTransposesBothBetas() {
        check(variants([
            (1, 1, 1), (1, 7, 9), (7, 1, 17), (9, 17, 1), (7, 9, 17), (17, 33, 7),
            (33, 17, 33), (15, 31, 9), (29, 65, 3), (100, 33, 17), (9, 100, 33), (45, 47, 100),
        ]))
    }

    /// Exactly one register block, and one block plus one, for each path's shape.
    func testRegisterBlockBoundaries() {
        check(variants([(4, 8, 5), (5, 9, 5), (6, 16, 5), (7, 17, 5), (14, 32, 5), (15, 33, 5), (28, 64, 16)]))
    }

    /// K past one KC block (256) with beta 1: later K blocks must accumulate.
    func testDepthCrossesCacheBlocks() {
        check(variants([(17, 33, 257), (9, 40, 513)]))
    }

    /// N past one NB group (512) and one NC block (4096); M past one MC block
    /// (4088 to 4096 rows by path). Six of the eight variants, every transpose
    /// combination among them, to keep the debug-build run short.
    func testRowsAndColumnsCrossCacheBlocks() {
        check(variants([(7, 530, 9), (3, 4100, 5), (4100, 9, 7)]).filter { $0.transposeA != $0.transposeB || $0.beta == 1 })
    }

    /// General alpha and beta, and the minimal leading dimensions.
    func testAlphaBetaAndTightLeadingDimensions() {
        var cases = variants([(13, 21, 19)], alpha: -0.5)
        cases += [Case(m: 13, n: 21, k: 19, alpha: 2, beta: 0.25), Case(m: 13, n: 21, k: 19, beta: -1, padding: 0),
                  Case(m: 33, n: 40, k: 70, transposeA: true, transposeB: true, beta: 1, padding: 0)]
        check(cases)
    }

    /// k == 0 and alpha == 0 leave `beta * C` and read neither A nor B.
    func testEmptyDepthAndZeroAlphaScaleC() {
        check([Case(m: 5, n: 6, k: 0, beta: 0), Case(m: 5, n: 6, k: 0, beta: 1), Case(m: 5, n: 6, k: 0, beta: 3),
               Case(m: 5, n: 6, k: 4, alpha: 0, beta: 0.5)])
    }

    /// beta 0 overwrites C: NaN already in C must not reach the result.
    func testBetaZeroIgnoresNaNInC() {
        let t = Case(m: 17, n: 35, k: 9)
        var operands = Operands(t, seed: 7)
        for i in 0 ..< t.m { for j in 0 ..< t.n { operands.c[i * operands.ldc + j] = .nan } }
        for path in GEMMKernelPath.available {
            let values = operands.split(operands.product(t, path: path), t).values
            XCTAssertFalse(values.contains { $0.isNaN }, "\(path.rawValue) let NaN from C through with beta 0")
        }
    }

    /// Large enough to use the worker pool (and 3 K blocks, 2 NB column groups):
    /// the threaded result equals the single-threaded one bit for bit, since each
    /// element is summed in the same order.
    func testThreadedEqualsSingleThreaded() {
        for path in GEMMKernelPath.available {
            for (tA, tB) in [(false, false), (true, false), (false, true)] {
                let t = Case(m: 67, n: 600, k: 520, transposeA: tA, transposeB: tB, beta: 1)
                let operands = Operands(t, seed: 11)
                let threaded = operands.product(t, path: path, threaded: true)
                let single = operands.product(t, path: path, threaded: false)
                let result = compare("C", actual: threaded, expected: single)
                XCTAssert(result.passed, "\(path.rawValue) \(t): threaded differs: \(result)")
            }
        }
        // And the threaded result is right.
        check([Case(m: 67, n: 600, k: 520, beta: 1)], paths: [GEMMKernelPath.active])
    }
}
