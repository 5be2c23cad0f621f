// Fuzz target: PNM.decode (PGM/PPM, plain and binary) on arbitrary bytes.
//
// Every input must give an image or a FrameSequencingError. An image has 1 or
// 3 channels and as many pixels as its shape says, and survives a round trip
// through PNM.encode.

@testable import FrameSequencingCore
@testable import FrameSequencingIO

/// Far above anything a few-KB input can declare honestly; a limit so that the
/// fuzzer's own memory ceiling is never what stops a decode.
let fuzzLimits = FileReadLimits(maximumBytes: 1 << 28)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNM(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    guard let image = refusingTyped("PNM.decode", { try PNM.decode(bytes, name: "fuzz.pnm", limits: fuzzLimits) })
    else { return 0 }
    let shape = image.shape
    require(shape.channels == 1 || shape.channels == 3, "\(shape.channels) channels")
    require(shape.height > 0 && shape.width > 0, "empty image \(shape)")
    require(image.pixels.count == shape.featureCount, "\(image.pixels.count) pixels for \(shape)")
    guard let encoded = refusingTyped("PNM.encode", { try PNM.encode(image) }) else {
        fatalError("a decoded \(shape) image could not be encoded")
    }
    guard let again = refusingTyped("PNM.decode of encode", { try PNM.decode(encoded) }) else {
        fatalError("PNM.encode wrote bytes PNM.decode refuses (\(shape))")
    }
    require(again == image, "round trip changed a \(shape) image")
    return 0
}
