import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// `PackedMatrixB.multiplyInPlace` (A read row-major, unpacked: the micro-kernels'
/// `_rows` variants) on every kernel path against `referenceGEMM`.
final class GEMMInPlaceTests: XCTestCase {
    func testInPlaceRowsEqualReferenceOnEveryPath() {
        // Rows across the register blocks (4, 6, 14), depth across KC (256), columns across NR.
        let shapes = [(1, 1, 1), (13, 9, 10), (29, 33, 64), (47, 300, 70), (15, 257, 32), (6, 16, 16), (32, 64, 250), (11, 5, 40)]
        var generator = SeededGenerator(seed: 5)
        for (m, k, n) in shapes {
            for transposed in [false, true] {
                let lda = k + 3, ldc = n + 2
                let a = (0 ..< m * lda).map { _ in generator.nextUnitFloat() - 0.5 }
                let b = (0 ..< k * n).map { _ in generator.nextUnitFloat() - 0.5 }      // [K, N], or [N, K] transposed
                let ldb = transposed ? k : n
                let c0 = (0 ..< m * ldc).map { _ in generator.nextUnitFloat() - 0.5 }
                for beta: Float in [0, 1] {
                    var expected = c0
                    referenceGEMM(transposeA: false, transposeB: transposed, m: m, n: n, k: k, alpha: 1, a: a, lda: lda,
                                  b: b, ldb: ldb, beta: beta, c: &expected, ldc: ldc)
                    for path in GEMMKernelPath.available {
                        var actual = c0
                        let packed = b.withUnsafeBufferPointer {
                            PackedMatrixB(b: $0.baseAddress!, ldb: ldb, transposed: transposed, k: k, n: n, maximumRows: 1,
                                          path: path)
                        }
                        a.withUnsafeBufferPointer { a in
                            actual.withUnsafeMutableBufferPointer { c in
                                packed.multiplyInPlace(m: m, a: a.baseAddress!, lda: lda, beta: beta, c: c.baseAddress!, ldc: ldc)
                            }
                        }
                        let result = compare("C", actual: actual, expected: expected, atol: 1e-5 * Float(k), rtol: 1e-5)
                        XCTAssert(result.passed, "\(path.rawValue) m \(m) k \(k) n \(n) transposed \(transposed) beta \(beta): \(result)")
                    }
                }
            }
        }
    }
}
