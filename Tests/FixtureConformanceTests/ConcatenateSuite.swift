import FrameSequencing
import Recurrent
import TestSupport

/// Suite `keras_concatenate`: `keras.layers.Concatenate(axis)` on `count`
/// inputs, the output and every input's gradient.
enum KerasConcatenateSuite {
    static func check(_ fixture: FixtureCase) throws -> [Comparison] {
        let count = try fixture.requiredInt("count")
        guard count >= 2 else { throw FixtureError.badMetadata(fixture.path, "count", "\(count) (at least 2 inputs)") }
        let layer = Concatenate(axis: try fixture.requiredInt("axis"))
        let inputs = try (0 ..< count).map { try fixture.tensor("input.\($0)") }
        let output = try layer.forward(inputs)
        let inputGradients = try layer.backward(outputGradient: try fixture.tensor("grad_output"),
                                                inputDimensions: inputs.map(\.dimensions))
        return try [fixture.check("output", output, Tolerance.forward)]
            + inputGradients.enumerated().map { try fixture.check("grad.input.\($0.offset)", $0.element, Tolerance.gradient) }
    }
}
