// Fuzz target: NPY.decode on arbitrary bytes.
//
// Every input must give an array or a FrameSequencingError. An array must be
// consistent (element count = product of the shape) and survive a round trip:
// encoding it and decoding that gives the same bytes again.

@testable import FrameSequencingCore
@testable import FrameSequencingIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    guard let array = refusingTyped("NPY.decode", { try NPY.decode(bytes, name: "fuzz.npy") }) else { return 0 }
    require(Shape(array.shape).checkedElementCount == array.elementCount,
            "shape \(array.shape) but \(array.elementCount) elements")
    require(array.shape.allSatisfy { $0 >= 0 }, "negative dimension in \(array.shape)")
    guard let encoded = refusingTyped("NPY.encode", { try NPY.encode(array) }) else {
        fatalError("a decoded array of shape \(array.shape) could not be encoded")
    }
    guard let again = refusingTyped("NPY.decode of encode", { try NPY.decode(encoded) }) else {
        fatalError("NPY.encode wrote bytes NPY.decode refuses (shape \(array.shape))")
    }
    require(again.shape == array.shape && again.data.elementType == array.data.elementType,
            "round trip changed \(array.shape) \(array.data.elementType) to \(again.shape) \(again.data.elementType)")
    require(try! NPY.encode(again) == encoded, "round trip changed the element bytes of shape \(array.shape)")
    return 0
}
