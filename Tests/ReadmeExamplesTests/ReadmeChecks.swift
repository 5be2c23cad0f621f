import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// What the README's comments promise about the values its examples make,
/// checked after they ran (sync_readme.py passes them in), so an example that
/// runs but no longer does what its comment says fails too.
func checkReadme(
    frameLabels: Tensor, labelled: FrameWindows, row: Tensor?, batches: WindowBatches, pass3: WindowBatches,
    trainFrames: FrameStack, restored: Tensor, latest: Tensor?, batchInputs: Tensor,
    dInputs: Tensor, h: Tensor, fromTorch: LSTM, lstmFromKeras: LSTM, clips: Tensor, dClips: Tensor,
    codes: Tensor, next: Tensor, state: LSTMState, unetNext: Tensor, bottleneckState: ConvLSTMState, conv: Conv2D, up: Conv2DTranspose, optimizerState: OptimizerState,
    result: ConvLSTMResult, convLSTM: ConvLSTM2D, fromKeras: ConvLSTM2D, history: [EpochSummary], future: Tensor,
    ssim: [Double], nextFrame: Tensor, folder: FrameStack, file: StaticString = #filePath, line: UInt = #line
) throws {
    // The targets array: window 3 starts at frame 3 and gets frameLabels' row 3.
    XCTAssertEqual(labelled.count, 41, file: file, line: line)
    XCTAssertEqual(row, try frameLabels.slice(3 ..< 4).reshaped(to: [3]), file: file, line: line)
    // Pass 3 holds every window once, in an order of its own.
    XCTAssertEqual(pass3.order.sorted(), batches.order.sorted(), file: file, line: line)
    XCTAssertNotEqual(pass3.order, batches.order, file: file, line: line)
    // Normalizing and inverting gives the training frames back.
    let comparison = compare("restored", actual: restored.scalars, expected: try trainFrames.tensor().scalars, atol: 1e-4)
    XCTAssertTrue(comparison.passed, "\(comparison)", file: file, line: line)
    XCTAssertNil(latest, "a rolling window of 10 has no sequence after one frame", file: file, line: line)
    XCTAssertEqual(dInputs.dimensions, batchInputs.dimensions, file: file, line: line)
    XCTAssertEqual(h.dimensions, [1, 256], file: file, line: line)
    XCTAssertEqual(fromTorch.layers.count, 2, file: file, line: line)
    XCTAssertEqual(fromTorch.hiddenSize, 256, file: file, line: line)
    XCTAssertEqual(lstmFromKeras.hiddenSize, 8, file: file, line: line)
    XCTAssertEqual(clips.dimensions, [5, 10, 64, 64, 1], file: file, line: line)
    XCTAssertEqual(dClips.dimensions, clips.dimensions, file: file, line: line)
    XCTAssertEqual(codes.dimensions, [5, 10, 32 * 32 * 16], file: file, line: line)
    XCTAssertEqual(next.dimensions, [5, 10, 64, 64, 1], file: file, line: line)
    XCTAssertEqual(state.hidden.dimensions.first, 1, "one layer's final h", file: file, line: line)
    XCTAssertEqual(unetNext.dimensions, [5, 10, 64, 64, 1], file: file, line: line)
    XCTAssertEqual(bottleneckState.hidden.dimensions, [5, 16, 16, 32], "the ConvLSTM's h on the 16 x 16 grid", file: file, line: line)
    XCTAssertEqual(conv.kernel.dimensions, [3, 3, 1, 8], "nn.Conv2d's (8, 1, 3, 3) weight in Keras's layout", file: file, line: line)
    XCTAssertEqual(up.kernel.dimensions, [3, 3, 4, 8], file: file, line: line)
    XCTAssertNotNil(optimizerState.tensors["adam.exp_avg.0"], file: file, line: line)
    XCTAssertEqual(optimizerState.scalars["adam.step"], 250, file: file, line: line)
    XCTAssertEqual(result.output.dimensions, [5, 10, 64, 64, 64], file: file, line: line)
    XCTAssertEqual(fromKeras.kernel, convLSTM.kernel, "Keras's weights round-trip", file: file, line: line)
    XCTAssertEqual(fromKeras.recurrentKernel, convLSTM.recurrentKernel, file: file, line: line)
    XCTAssertEqual(history.count, 2, "two epochs", file: file, line: line)
    XCTAssertEqual(future.dimensions, [1, 10, 64, 64, 1], file: file, line: line)
    XCTAssertEqual(ssim.count, 2, file: file, line: line)
    XCTAssertEqual(nextFrame.dimensions, [1, 64, 64, 1], file: file, line: line)
    XCTAssertEqual(folder.count, 3, file: file, line: line)
}
