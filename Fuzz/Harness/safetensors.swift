// Fuzz target: SafeTensors.decode on arbitrary bytes.
//
// Every input must give tensors or a FrameSequencingError. Decoded tensors
// must have consistent shapes and unique names, and re-encoding them must
// decode to the same names, metadata and bytes.

@testable import FrameSequencingCore
@testable import FrameSequencingIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    guard let file = refusingTyped("SafeTensors.decode", { try SafeTensors.decode(bytes, name: "fuzz.safetensors") })
    else { return 0 }
    require(Set(file.names).count == file.names.count, "duplicate names \(file.names)")
    for entry in file.entries {
        require(Shape(entry.array.shape).checkedElementCount == entry.array.elementCount,
                "tensor '\(entry.name)' has shape \(entry.array.shape) but \(entry.array.elementCount) elements")
        require(file[entry.name] != nil, "tensor '\(entry.name)' is listed but not found by name")
    }
    guard let encoded = refusingTyped("SafeTensors.encode", { try file.encode() }) else {
        fatalError("decoded tensors \(file.names) could not be encoded")
    }
    guard let again = refusingTyped("SafeTensors.decode of encode", { try SafeTensors.decode(encoded) }) else {
        fatalError("SafeTensors.encode wrote bytes SafeTensors.decode refuses (tensors \(file.names))")
    }
    require(again.names == file.names && again.metadata == file.metadata,
            "round trip changed names \(file.names) to \(again.names) or the metadata")
    require(try! again.encode() == encoded, "round trip changed the bytes of \(file.names)")
    return 0
}
