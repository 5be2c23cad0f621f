import CFrameKernels
import FrameSequencing
import TestSupport
import XCTest
@testable import Recurrent

/// fsk_lstm_pack_forward's register transposes (16 lanes on AVX-512, 8 on AVX2)
/// against its scalar twin, bit for bit: shapes whose depth I + H ends inside a
/// block, whose W_ih / W_hh boundary falls inside one, whose last group has
/// units past H, and group ranges that are only part of the whole.
final class LSTMFusedPackTests: XCTestCase {
    /// The lane counts the vector packings run with on this CPU.
    var vectorLanes: [Int] {
        GEMMKernelPath.available.compactMap { $0 == .avx512 ? 16 : $0 == .avx2 ? 8 : nil }
    }

    /// Bit pattern of the floats a packing must not touch.
    let untouched: UInt32 = 0x7FC0_1234

    struct Packing: Equatable {
        var bits: [UInt32]
        var finite: Int32
    }

    /// Packs groups [first, end) into a buffer of sentinels (64-byte aligned, as
    /// the contract asks); `inputs == 0` passes no W_ih at all.
    func pack(_ wi: [Float], _ wh: [Float], inputs: Int, hidden: Int, lanes: Int, range: Range<Int>,
              reference: Bool) -> Packing {
        let count = fsk_lstm_forward_packed_count(inputs, hidden, lanes)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        defer { raw.deallocate() }
        let bits = raw.initializeMemory(as: UInt32.self, repeating: untouched, count: max(count, 1))
        let packed = UnsafeMutableRawPointer(bits).assumingMemoryBound(to: Float.self)
        let finite = wi.withUnsafeBufferPointer { wi in
            wh.withUnsafeBufferPointer { wh in
                let w = inputs == 0 ? nil : wi.baseAddress
                return reference
                    ? fsk_lstm_pack_forward_reference(w, inputs, wh.baseAddress, hidden, lanes, packed,
                                                      range.lowerBound, range.upperBound)
                    : fsk_lstm_pack_forward(w, inputs, wh.baseAddress, hidden, lanes, packed,
                                            range.lowerBound, range.upperBound)
            }
        }
        return Packing(bits: Array(UnsafeBufferPointer(start: bits, count: count)), finite: finite)
    }

    func testVectorPackingEqualsTheScalarTwin() throws {
        if vectorLanes.isEmpty { throw XCTSkip("no vector packing runs on this CPU") }
        let shapes = [(0, 7), (0, 19), (0, 128), (1, 1), (1, 33), (5, 7), (5, 19), (16, 16), (17, 33), (84, 7),
                      (84, 128), (256, 256)]
        var generator = SeededGenerator(seed: 11)
        for (inputs, hidden) in shapes {
            let wi = (0 ..< 4 * hidden * inputs).map { _ in 2 * generator.nextUnitFloat() - 1 }
            let wh = (0 ..< 4 * hidden * hidden).map { _ in 2 * generator.nextUnitFloat() - 1 }
            for lanes in vectorLanes {
                let groups = fsk_lstm_forward_groups(hidden, lanes), size = (inputs + hidden) * 4 * lanes
                var ranges = [0 ..< groups, 0 ..< 1, groups - 1 ..< groups, 0 ..< 0]
                if groups >= 3 { ranges.append(1 ..< groups - 1) }
                for range in ranges {
                    let shape = "I \(inputs) H \(hidden) lanes \(lanes) groups \(range)"
                    let expected = pack(wi, wh, inputs: inputs, hidden: hidden, lanes: lanes, range: range,
                                        reference: true)
                    let actual = pack(wi, wh, inputs: inputs, hidden: hidden, lanes: lanes, range: range,
                                      reference: false)
                    XCTAssertEqual(actual.finite, 1, shape)
                    let differing = actual.bits.indices.filter { actual.bits[$0] != expected.bits[$0] }
                    XCTAssert(differing.isEmpty, "\(shape): \(differing.count) floats differ, first at \(differing.first ?? -1)")
                    let outside = actual.bits.indices.filter { !range.contains($0 / size) && actual.bits[$0] != untouched }
                    XCTAssert(outside.isEmpty, "\(shape): \(outside.count) floats written outside the range")
                    let unwritten = actual.bits.indices.filter { range.contains($0 / size) && actual.bits[$0] == untouched }
                    XCTAssert(unwritten.isEmpty, "\(shape): \(unwritten.count) floats of the range not written")
                }
            }
        }
    }

    /// The flag says whether every W_hh weight of the packed groups is finite:
    /// an infinity or NaN there clears it (at depth I, whether or not a block
    /// starts there, in the last depth of the last unit and in a middle one);
    /// one in W_ih or in a group outside the range does not.
    func testPackingFiniteFlag() throws {
        let lanesToTest = vectorLanes + [4]   // 4: the scalar fallback
        for (inputs, hidden) in [(0, 19), (5, 19), (16, 33), (84, 128)] {
            var generator = SeededGenerator(seed: 12)
            let wi = (0 ..< 4 * hidden * inputs).map { _ in 2 * generator.nextUnitFloat() - 1 }
            let wh = (0 ..< 4 * hidden * hidden).map { _ in 2 * generator.nextUnitFloat() - 1 }
            // (row, column) of W_hh: depth I (the boundary), the last depth of the last unit, a middle one.
            let spots = [(0, 0), (4 * hidden - 1, hidden - 1), (2 * hidden + 3, hidden / 2)]
            for lanes in lanesToTest {
                let groups = fsk_lstm_forward_groups(hidden, lanes)
                for poison in [Float.infinity, -.infinity, .nan] {
                    for reference in [true, false] {
                        let shape = "I \(inputs) H \(hidden) lanes \(lanes) \(poison) reference \(reference)"
                        for (row, column) in spots {
                            var bad = wh
                            bad[row * hidden + column] = poison
                            let group = (row % hidden) / lanes
                            XCTAssertEqual(pack(wi, bad, inputs: inputs, hidden: hidden, lanes: lanes,
                                                range: 0 ..< groups, reference: reference).finite, 0, shape)
                            XCTAssertEqual(pack(wi, bad, inputs: inputs, hidden: hidden, lanes: lanes,
                                                range: group ..< group + 1, reference: reference).finite, 0, shape)
                            let others = group == 0 ? 1 ..< groups : 0 ..< group
                            XCTAssertEqual(pack(wi, bad, inputs: inputs, hidden: hidden, lanes: lanes,
                                                range: others, reference: reference).finite, 1, shape)
                        }
                        if inputs > 0 {
                            var badInputs = wi
                            badInputs[3 * inputs + inputs - 1] = poison
                            XCTAssertEqual(pack(badInputs, wh, inputs: inputs, hidden: hidden, lanes: lanes,
                                                range: 0 ..< groups, reference: reference).finite, 1, shape)
                        }
                    }
                }
            }
        }
    }
}
