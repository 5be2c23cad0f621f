import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// A small ConvLSTM2D with random weights (and random peepholes on `peepholeGrid`),
/// so every gate is away from saturation and every parameter matters.
func smallConvLSTM(
    channels: Int = 2, filters: Int = 2, kernel: (Int, Int) = (3, 2), strides: (Int, Int) = (1, 1),
    dilation: (Int, Int) = (1, 1), padding: ConvolutionPadding = .same, reversed: Bool = false,
    peepholeGrid: (Int, Int)? = nil, seed: UInt64
) throws -> ConvLSTM2D {
    let (kh, kw) = kernel
    let peepholes = try peepholeGrid.map { grid in
        ConvLSTMPeepholes(input: try randomTensor([grid.0, grid.1, filters], seed: seed &+ 3, scale: 0.5),
                          forget: try randomTensor([grid.0, grid.1, filters], seed: seed &+ 4, scale: 0.5),
                          output: try randomTensor([grid.0, grid.1, filters], seed: seed &+ 5, scale: 0.5))
    }
    return try ConvLSTM2D(kernel: randomTensor([kh, kw, channels, 4 * filters], seed: seed, scale: 0.6),
                          recurrentKernel: randomTensor([kh, kw, filters, 4 * filters], seed: seed &+ 1, scale: 0.6),
                          bias: randomTensor([4 * filters], seed: seed &+ 2, scale: 0.3), strides: strides,
                          dilation: dilation, padding: padding, reversed: reversed, peepholes: peepholes)
}

/// Random (h0, c0) for `layer` on inputs of `dimensions`.
func randomState(_ layer: ConvLSTM2D, input dimensions: [Int], seed: UInt64) throws -> ConvLSTMState {
    let d = try layer.outputDimensions(forInput: dimensions, returnSequences: false)
    return ConvLSTMState(hidden: try randomTensor(d, seed: seed, scale: 0.5), cell: try randomTensor(d, seed: seed &+ 1, scale: 0.5))
}

/// Timesteps of (B, T, ...) in reverse order.
func timeReversed(_ x: Tensor) throws -> Tensor {
    let (batch, steps) = (x.dimensions[0], x.dimensions[1])
    let per = x.count / (batch * steps)
    let values = x.scalars
    var result = [Float](repeating: 0, count: x.count)
    for b in 0 ..< batch {
        for t in 0 ..< steps {
            let (from, to) = ((b * steps + t) * per, (b * steps + steps - 1 - t) * per)
            for i in 0 ..< per { result[to + i] = values[from + i] }
        }
    }
    return try Tensor(shape: x.shape, scalars: result)
}

/// Sequence `b`'s first `steps` timesteps of (B, T, ...) as (1, steps, ...).
func prefix(_ x: Tensor, sequence b: Int, steps: Int) throws -> Tensor {
    let total = x.dimensions[1]
    let per = x.count / (x.dimensions[0] * total)
    let start = b * total * per
    return try Tensor(shape: Shape([1, steps] + x.dimensions.dropFirst(2)),
                      scalars: Array(x.scalars[start ..< start + steps * per]))
}

/// Fails with the comparison's description unless it passed.
func requireClose(_ comparison: Comparison, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssert(comparison.passed, "\(comparison)", file: file, line: line)
}
