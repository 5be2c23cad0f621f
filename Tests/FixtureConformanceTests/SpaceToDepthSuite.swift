import FrameSequencing
import Recurrent
import TestSupport

/// Suite `space_to_depth`: TensorFlow's `tf.nn.space_to_depth` / `depth_to_space`
/// (NHWC), exact, through every route the package patches by: the tensor
/// transform and its inverse, a patched frame stack read whole and as windows
/// in each batch layout, and the Sequential layers forward and backward.
enum SpaceToDepthSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let transform = try SpaceToDepth(blockSize: try fixture.requiredInt("block_size"))
        let input = try fixture.tensor("input")
        let expected = try fixture.tensor("output")
        var results: [Comparison] = []

        let output = try transform.apply(to: input)
        try requireSameShape(fixture, "output", expected: expected, actual: output)
        results.append(compare("output", actual: output.scalars, expected: expected.scalars))
        let restored = try transform.invert(expected)
        results.append(compare("depth_to_space(output)", actual: restored.scalars, expected: input.scalars))

        // The batch entries as a series of frames, read through a patched view.
        let patched = try FrameStack(stacked: input).patched(transform)
        results.append(compare("patched frames", actual: try patched.tensor().scalars, expected: expected.scalars))
        let windows = try patched.windows(WindowParameters(sequenceLength: 1))
        for layout in [SequenceLayout.batchMajor, .timeMajor, .spatial] {
            let batch = try windows.batches(size: windows.count).batch(0, layout: layout)
            results.append(compare("patched windows (\(layout))", actual: batch.inputs.scalars, expected: expected.scalars))
        }

        // The layers: a permutation forward, its inverse backward.
        let stack = try Sequential([.spaceToDepth(transform), .depthToSpace(transform)])
        let (roundTrip, cache) = try stack.trainingForward(input)
        results.append(compare("layers forward", actual: roundTrip.scalars, expected: input.scalars))
        var gradients = stack.zeroGradients()
        let dInput = try stack.backward(outputGradient: input, cache: cache, into: &gradients)
        results.append(compare("layers backward", actual: dInput.scalars, expected: input.scalars))
        let layer = try Sequential([.spaceToDepth(transform)])
        results.append(compare("layer forward", actual: try layer.forward(input).scalars, expected: expected.scalars))
        return results
    }
}
