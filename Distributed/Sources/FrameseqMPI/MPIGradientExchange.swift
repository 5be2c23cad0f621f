import FrameSequencing
import Recurrent

/// ``GradientExchange`` over MPI: each step's gradients, loss and failure
/// flags go through one in-place sum over every rank, as all-reduces of
/// buckets of ``bucketBytes`` (25 MiB by default, PyTorch DDP's
/// `bucket_cap_mb`), all in flight at once so the link stays busy.
///
/// Layout of the summed buffer: every gradient in ``Trainable/namedParameters``
/// order, scaled by the rank's share of the batch's windows, then the scaled
/// loss, then one flag per rank (1 where that rank's step failed). The buffer
/// and the combined tensors are made on the first step and reused: a step
/// allocates nothing here.
public final class MPIGradientExchange: GradientExchange, @unchecked Sendable {
    /// The job the ranks are in.
    public let world: MPIWorld
    /// Bytes per all-reduce.
    public let bucketBytes: Int
    public var rank: Int { world.rank }
    public var size: Int { world.size }
    private var buffer: [Float] = []
    private var combined: [Tensor] = []

    /// An exchange over `world`.
    ///
    /// - Parameters:
    ///   - world: The job.
    ///   - bucketBytes: Bytes per all-reduce (at least 4).
    public init(world: MPIWorld, bucketBytes: Int = 25 << 20) {
        self.world = world
        self.bucketBytes = max(bucketBytes, 4)
    }

    public func combine(_ gradients: [Tensor], loss: Float, windows: Int, of total: Int, failed: Bool) throws -> CombinedStep {
        let scalars = gradients.reduce(0) { $0 + $1.count }
        if buffer.count != scalars + 1 + size || combined.map(\.dimensions) != gradients.map(\.dimensions) {
            buffer = [Float](repeating: 0, count: scalars + 1 + size)
            combined = try gradients.map { try Tensor(shape: $0.shape, repeating: 0) }
        }
        let weight = total > 0 ? Float(windows) / Float(total) : 0
        GradientBuffer.pack(gradients, scaledBy: weight, into: &buffer)
        for index in scalars ..< buffer.count { buffer[index] = 0 }
        buffer[scalars] = loss * weight
        if failed { buffer[scalars + 1 + rank] = 1 }
        try world.allReduceSum(&buffer, bucket: bucketBytes / 4)
        GradientBuffer.unpack(buffer, into: &combined)
        let failedRanks = (0 ..< size).filter { buffer[scalars + 1 + $0] != 0 }
        return CombinedStep(gradients: combined, loss: buffer[scalars], failedRanks: failedRanks)
    }

    public func broadcastFromRankZero(_ bytes: [UInt8]) throws -> [UInt8] {
        try world.broadcastFromRankZero(bytes, operation: "broadcast of rank 0's model, optimizer and position")
    }
}

/// Copies between the tensors and the flat buffer the all-reduce sums.
enum GradientBuffer {
    /// `tensors`, each element times `weight`, one after another from the buffer's start.
    static func pack(_ tensors: [Tensor], scaledBy weight: Float, into buffer: inout [Float]) {
        buffer.withUnsafeMutableBufferPointer { flat in
            var offset = 0
            for tensor in tensors {
                tensor.withUnsafeBufferPointer { source in
                    for index in source.indices { flat[offset + index] = source[index] * weight }
                    offset += source.count
                }
            }
        }
    }

    /// The buffer's first elements back into `tensors`, in order.
    static func unpack(_ buffer: [Float], into tensors: inout [Tensor]) {
        buffer.withUnsafeBufferPointer { flat in
            var offset = 0
            for index in tensors.indices {
                tensors[index].withUnsafeMutableBufferPointer { destination in
                    for element in destination.indices { destination[element] = flat[offset + element] }
                    offset += destination.count
                }
            }
        }
    }
}
