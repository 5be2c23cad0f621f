// The scalar twin of `gemm`: the definition the fast paths are tested against.
//
// Legend: M rows of C and op(A), N columns of C and op(B), K the shared dimension.

/// `C = alpha * op(A) * op(B) + beta * C` by the textbook triple loop, summing in
/// Double so that it is a better reference than any Float32 kernel.
///
/// Same arguments and write semantics as `gemm(...)`: beta 0 overwrites C
/// without reading it.
///
/// - Complexity: `O(M * N * K)`, unblocked; for tests only.
package func referenceGEMM(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0 ..< m {
        for j in 0 ..< n {
            var sum = 0.0
            for p in 0 ..< k {
                let x = transposeA ? a[p * lda + i] : a[i * lda + p]   // op(A)[i][p]
                let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]   // op(B)[p][j]
                sum += Double(x) * Double(y)
            }
            let product = Double(alpha) * sum
            c[i * ldc + j] = beta == 0 ? Float(product) : Float(product + Double(beta) * Double(c[i * ldc + j]))
        }
    }
}
