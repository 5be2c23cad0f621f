// Internal copy kernels: every path that moves frame data into Float32 buffers
// (window materialization, batch fills, streaming) goes through these two
// functions, so their speed and exactness are proven in one place.

/// Writes `source[0..<count] * scale` as Float32 into `destination`.
///
/// Sixteen lanes at a time: on baseline x86-64 (SSE2) this compiles to unpack and
/// convert instructions, several times faster than a per-element loop.
@inline(__always)
func convertBytes(_ source: UnsafePointer<UInt8>, to destination: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
    let lanes = 16
    let scaleVector = SIMD16<Float>(repeating: scale)
    var index = 0
    while index + lanes <= count {
        let bytes = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<UInt8>.self)
        let widened = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes)) * scaleVector
        UnsafeMutableRawPointer(destination + index).storeBytes(of: widened, as: SIMD16<Float>.self)
        index += lanes
    }
    while index < count {
        destination[index] = Float(source[index]) * scale
        index += 1
    }
}

/// Read-only access to a frame stack's elements, whatever their storage type.
/// Valid only inside the `withUnsafeSource` call that made it.
struct FrameSource {
    enum Elements {
        case float32(UnsafePointer<Float>)
        case bytes(UnsafePointer<UInt8>, scale: Float)

        /// The elements from `offset` on.
        @inline(__always)
        func advanced(by offset: Int) -> Elements {
            switch self {
            case .float32(let base): return .float32(base + offset)
            case .bytes(let base, let scale): return .bytes(base + offset, scale: scale)
            }
        }
    }
    let elements: Elements
    /// Values per frame as read (height * width * channels, patched when `patching` is set).
    let featureCount: Int
    /// How stored frames map to the frames read: nil to read them as stored, else
    /// a space-to-depth layout (see ``SpaceToDepth``).
    var patching: PatchLayout? = nil

    /// Copies `frameCount` consecutive frames starting at `frame` into `destination`
    /// as Float32 (converting and scaling bytes, patching when the stack is patched).
    /// Overwrites `destination[0 ..< frameCount * featureCount]`.
    @inline(__always)
    func copyFrames(from frame: Int, count frameCount: Int, to destination: UnsafeMutablePointer<Float>) {
        if let patching {
            let stored = patching.source.featureCount
            for k in 0 ..< frameCount {
                patching.patch(elements.advanced(by: (frame + k) * stored), into: destination + k * featureCount)
            }
            return
        }
        let start = frame * featureCount
        let count = frameCount * featureCount
        switch elements {
        case .float32(let base):
            destination.update(from: base + start, count: count)
        case .bytes(let base, let scale):
            convertBytes(base + start, to: destination, count: count, scale: scale)
        }
    }
}
