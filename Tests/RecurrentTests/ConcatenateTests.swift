import FrameSequencing
import Recurrent
import TestSupport
import XCTest

/// ``Concatenate`` against an element-by-element reference on every axis, its
/// backward as the exact inverse of its forward, and every caller mistake as a
/// typed error that names what was expected and what came.
final class ConcatenateTests: XCTestCase {
    func assertThrows<T>(_ expression: @autoclosure () throws -> T, _ expected: RecurrentError, mentioning words: [String],
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? RecurrentError, expected, "\(error)", file: file, line: line)
            for word in words {
                XCTAssert("\(error)".contains(word), "'\(error)' does not mention '\(word)'", file: file, line: line)
            }
        }
    }

    /// The doc comment's example, run as written.
    func testDocumentationExample() throws {
        let skip = try TestData.randomTensor([2, 4, 5, 3], seed: 1)
        let upsampled = try TestData.randomTensor([2, 4, 5, 7], seed: 2)
        let dJoined = try TestData.randomTensor([2, 4, 5, 10], seed: 3)

        let merge = Concatenate()                                    // axis -1: the channels
        let joined = try merge.forward([skip, upsampled])           // (2, 4, 5, 3) and (2, 4, 5, 7): (2, 4, 5, 10)
        let pieces = try merge.backward(outputGradient: dJoined,    // (2, 4, 5, 10)
                                        inputDimensions: [skip.dimensions, upsampled.dimensions])
        // pieces[0] (2, 4, 5, 3) and pieces[1] (2, 4, 5, 7): dJoined cut back along the channels

        XCTAssertEqual(joined.dimensions, [2, 4, 5, 10])
        XCTAssertEqual(pieces.map(\.dimensions), [[2, 4, 5, 3], [2, 4, 5, 7]])
        // The pixel (1, 3, 4): its 3 skip channels, then its 7 upsampled ones.
        XCTAssertEqual(try (0 ..< 10).map { try joined.scalar(at: [1, 3, 4, $0]) },
                       try (0 ..< 3).map { try skip.scalar(at: [1, 3, 4, $0]) } + (0 ..< 7).map { try upsampled.scalar(at: [1, 3, 4, $0]) })
        XCTAssertEqual(try pieces[1].scalar(at: [0, 2, 1, 6]), try dJoined.scalar(at: [0, 2, 1, 9]))
    }

    /// Forward equals the element-by-element reference, and backward its
    /// inverse, on every non-batch axis of ranks 2 to 5, for 2 and 3 inputs
    /// whose sizes on the axis include 1.
    func testEveryAxisAgainstTheReference() throws {
        let shapes: [[Int]] = [[3, 5], [2, 3, 4], [2, 3, 4, 5], [2, 3, 2, 4, 3]]
        var seed: UInt64 = 10
        for shape in shapes {
            for axis in 1 ..< shape.count {
                for sizes in [[shape[axis], 1], [1, shape[axis], 2]] {
                    let inputs = try sizes.map { size -> Tensor in
                        var dimensions = shape
                        dimensions[axis] = size
                        seed += 1
                        return try TestData.randomTensor(dimensions, seed: seed)
                    }
                    let label = "shape \(shape) axis \(axis) sizes \(sizes)"
                    let layer = Concatenate(axis: axis)
                    let output = try layer.forward(inputs)
                    let expected = try referenceConcatenation(inputs, axis: axis)
                    XCTAssertEqual(output.dimensions, expected.dimensions, label)
                    XCTAssertEqual(output.scalars, expected.scalars, label)
                    XCTAssertEqual(try layer.outputDimensions(forInputs: inputs.map(\.dimensions)), output.dimensions, label)
                    let pieces = try layer.backward(outputGradient: expected, inputDimensions: inputs.map(\.dimensions))
                    XCTAssertEqual(pieces, inputs, label)
                }
            }
        }
    }

    /// backward cuts a random gradient into pieces of the inputs' shapes that
    /// forward joins back into exactly that gradient, and each piece is the
    /// gradient's slice at its input's offset.
    func testBackwardSplitsExactly() throws {
        for (axis, dimensions) in [(-1, [[2, 4, 5, 3], [2, 4, 5, 1], [2, 4, 5, 7]]), (2, [[2, 3, 2, 4, 3], [2, 3, 5, 4, 3]]),
                                   (1, [[3, 1, 2], [3, 4, 2]])] {
            let layer = Concatenate(axis: axis)
            let gradient = try TestData.randomTensor(try layer.outputDimensions(forInputs: dimensions), seed: 7)
            let pieces = try layer.backward(outputGradient: gradient, inputDimensions: dimensions)
            XCTAssertEqual(pieces.map(\.dimensions), dimensions, "axis \(axis)")
            XCTAssertEqual(try layer.forward(pieces), gradient, "axis \(axis)")
            let resolved = axis < 0 ? axis + dimensions[0].count : axis
            var offset = 0
            for (index, piece) in pieces.enumerated() {
                for flat in 0 ..< piece.count {
                    var position = multiIndex(flat, in: piece.dimensions)
                    let value = try piece.scalar(at: position)
                    position[resolved] += offset
                    XCTAssertEqual(value, try gradient.scalar(at: position), "axis \(axis) piece \(index) element \(flat)")
                }
                offset += piece.dimensions[resolved]
            }
        }
    }

    /// Negative axes count from the end, as in Keras: -1 is the last axis, -r + 1 axis 1.
    func testNegativeAndPositiveAxesAgree() throws {
        let a = try TestData.randomTensor([2, 3, 4, 5, 2], seed: 21)
        for axis in 1 ..< 5 {
            var dimensions = a.dimensions
            dimensions[axis] = 3
            let b = try TestData.randomTensor(dimensions, seed: 22 + UInt64(axis))
            let positive = Concatenate(axis: axis), negative = Concatenate(axis: axis - 5)
            let output = try positive.forward([a, b])
            XCTAssertEqual(try negative.forward([a, b]), output, "axis \(axis) and \(axis - 5)")
            XCTAssertEqual(try negative.outputDimensions(forInputs: [a.dimensions, b.dimensions]), output.dimensions)
            let gradient = try TestData.randomTensor(output.dimensions, seed: 30 + UInt64(axis))
            XCTAssertEqual(try negative.backward(outputGradient: gradient, inputDimensions: [a.dimensions, b.dimensions]),
                           try positive.backward(outputGradient: gradient, inputDimensions: [a.dimensions, b.dimensions]))
        }
        XCTAssertEqual(Concatenate().axis, -1)
    }

    func testFewerThanTwoInputsAreRefused() throws {
        let x = try Tensor(shape: [2, 4, 5, 3])
        assertThrows(try Concatenate().forward([x]),
                     .invalidArgument(name: "Concatenate inputs", expected: "at least 2 tensors to join (one tensor needs no Concatenate)",
                                      actual: "1 tensor"),
                     mentioning: ["at least 2", "got 1 tensor"])
        assertThrows(try Concatenate().forward([]),
                     .invalidArgument(name: "Concatenate inputs", expected: "at least 2 tensors to join (one tensor needs no Concatenate)",
                                      actual: "0 tensors"),
                     mentioning: ["got 0 tensors"])
        XCTAssertThrowsError(try Concatenate().outputDimensions(forInputs: [[2, 3]]))
        XCTAssertThrowsError(try Concatenate().backward(outputGradient: x, inputDimensions: [[2, 4, 5, 3]]))
    }

    func testTheBatchAxisIsRefused() throws {
        let (a, b) = (try Tensor(shape: [2, 4, 5, 3]), try Tensor(shape: [2, 4, 5, 3]))
        let expected = "an axis of the rank-4 inputs other than the batch: 1 to 3, or -3 to -1 from the end"
        assertThrows(try Concatenate(axis: 0).forward([a, b]),
                     .invalidArgument(name: "Concatenate axis", expected: expected, actual: "0, the batch axis"),
                     mentioning: ["other than the batch", "got 0, the batch axis"])
        assertThrows(try Concatenate(axis: -4).outputDimensions(forInputs: [a.dimensions, b.dimensions]),
                     .invalidArgument(name: "Concatenate axis", expected: expected, actual: "-4, the batch axis"),
                     mentioning: ["got -4, the batch axis"])
        // Rank 1 has no axis but the batch.
        assertThrows(try Concatenate().forward([try Tensor(shape: [4]), try Tensor(shape: [4])]),
                     .shapeMismatch(name: "Concatenate input 0 (a batch axis and at least one more)",
                                    expected: [.any("batch"), .any("...")], actual: [4]),
                     mentioning: ["has shape (4)", "expected (batch, ...)"])
    }

    func testAxisOutOfRangeIsRefused() throws {
        let (a, b) = (try Tensor(shape: [2, 4, 5]), try Tensor(shape: [2, 4, 5]))
        let expected = "an axis of the rank-3 inputs other than the batch: 1 to 2, or -2 to -1 from the end"
        for axis in [3, 7, -5, Int.min, Int.max] {
            assertThrows(try Concatenate(axis: axis).forward([a, b]),
                         .invalidArgument(name: "Concatenate axis", expected: expected, actual: "\(axis)"),
                         mentioning: ["rank-3", "got \(axis)."])
        }
    }

    func testRankMismatchIsRefused() throws {
        let (a, b) = (try Tensor(shape: [2, 4, 5, 3]), try Tensor(shape: [2, 4, 5]))
        let error = RecurrentError.shapeMismatch(name: "Concatenate input 1 (input 0's shape but for axis 3)",
                                                 expected: [2, 4, 5, .any("any")], actual: [2, 4, 5])
        assertThrows(try Concatenate().forward([a, b]), error,
                     mentioning: ["input 1", "has shape (2, 4, 5)", "expected (2, 4, 5, any)"])
        assertThrows(try Concatenate().outputDimensions(forInputs: [a.dimensions, b.dimensions]), error, mentioning: [])
        // Rank 5 against rank 4, as a (B, T, H, W, C) sequence and a (B, H, W, C) map would be.
        assertThrows(try Concatenate().outputDimensions(forInputs: [[2, 3, 4, 5, 1], [2, 3, 4, 5, 1], [2, 4, 5, 1]]),
                     .shapeMismatch(name: "Concatenate input 2 (input 0's shape but for axis 4)",
                                    expected: [2, 3, 4, 5, .any("any")], actual: [2, 4, 5, 1]),
                     mentioning: ["input 2", "expected (2, 3, 4, 5, any)"])
    }

    func testSizeMismatchOffTheAxisIsRefused() throws {
        let (a, b) = (try Tensor(shape: [2, 4, 5, 3]), try Tensor(shape: [2, 4, 6, 7]))
        assertThrows(try Concatenate().forward([a, b]),
                     .shapeMismatch(name: "Concatenate input 1 (input 0's shape but for axis 3)",
                                    expected: [2, 4, 5, .any("any")], actual: [2, 4, 6, 7]),
                     mentioning: ["has shape (2, 4, 6, 7)", "expected (2, 4, 5, any)"])
        // Along axis 1 the channels must agree.
        assertThrows(try Concatenate(axis: 1).forward([a, try Tensor(shape: [2, 1, 5, 2])]),
                     .shapeMismatch(name: "Concatenate input 1 (input 0's shape but for axis 1)",
                                    expected: [2, .any("any"), 5, 3], actual: [2, 1, 5, 2]),
                     mentioning: ["expected (2, any, 5, 3)"])
        // A different batch is a mismatch too.
        XCTAssertThrowsError(try Concatenate().forward([a, try Tensor(shape: [3, 4, 5, 3])]))
    }

    func testBadDimensionsAndGradientsAreRefused() throws {
        let layer = Concatenate()
        assertThrows(try layer.outputDimensions(forInputs: [[2, -1, 3], [2, -1, 4]]),
                     .invalidArgument(name: "Concatenate input 0 dimensions", expected: "sizes of at least 0", actual: "-1 in [2, -1, 3]"),
                     mentioning: ["at least 0"])
        assertThrows(try layer.outputDimensions(forInputs: [[2, Int.max], [2, 1]]),
                     .invalidArgument(name: "Concatenate output size on axis 1", expected: "a sum that fits in Int",
                                      actual: "the sizes [\(Int.max), 1]"),
                     mentioning: ["fits in Int"])
        assertThrows(try layer.backward(outputGradient: try Tensor(shape: [2, 4, 5, 9]), inputDimensions: [[2, 4, 5, 3], [2, 4, 5, 7]]),
                     .shapeMismatch(name: "Concatenate output gradient", expected: [2, 4, 5, 10], actual: [2, 4, 5, 9]),
                     mentioning: ["has shape (2, 4, 5, 9)", "expected (2, 4, 5, 10)"])
        XCTAssertThrowsError(try layer.backward(outputGradient: try Tensor(shape: [2, 4, 5, 10]),
                                                inputDimensions: [[2, 4, 5, 3], [2, 4, 6, 7]]))
    }

    /// Empty inputs (a zero batch, or zero channels on one side) join without a trap.
    func testEmptyInputs() throws {
        let layer = Concatenate()
        let empty = try layer.forward([try Tensor(shape: [0, 3, 2]), try Tensor(shape: [0, 3, 4])])
        XCTAssertEqual(empty.dimensions, [0, 3, 6])
        let x = try TestData.randomTensor([2, 3, 2], seed: 40)
        XCTAssertEqual(try layer.forward([x, try Tensor(shape: [2, 3, 0])]), x)
        let pieces = try layer.backward(outputGradient: x, inputDimensions: [[2, 3, 0], [2, 3, 2]])
        XCTAssertEqual(pieces.map(\.dimensions), [[2, 3, 0], [2, 3, 2]])
        XCTAssertEqual(pieces[1], x)
    }

    /// The concatenation by output element: each element's position on `axis`
    /// names the input it comes from and its position there.
    func referenceConcatenation(_ inputs: [Tensor], axis: Int) throws -> Tensor {
        var dimensions = inputs[0].dimensions
        dimensions[axis] = inputs.reduce(0) { $0 + $1.dimensions[axis] }
        let count = dimensions.reduce(1, *)
        let scalars = try (0 ..< count).map { flat -> Float in
            var position = multiIndex(flat, in: dimensions)
            var part = 0
            while position[axis] >= inputs[part].dimensions[axis] {
                position[axis] -= inputs[part].dimensions[axis]
                part += 1
            }
            return try inputs[part].scalar(at: position)
        }
        return try Tensor(shape: Shape(dimensions), scalars: scalars)
    }

    /// The row-major position of flat index `flat` in `dimensions`.
    func multiIndex(_ flat: Int, in dimensions: [Int]) -> [Int] {
        var (position, rest) = ([Int](repeating: 0, count: dimensions.count), flat)
        for axis in dimensions.indices.reversed() {
            (rest, position[axis]) = rest.quotientAndRemainder(dividingBy: dimensions[axis])
        }
        return position
    }
}
