import FrameSequencing

// The losses' weighted reduction over gradient rows and the element loop of the
// regression losses: the one place their pointers are taken.

/// A loss summed over elements: `perElement(p, t)` returns one element's loss
/// and dl/dp in Float64 from its prediction and target; the weights and the
/// reduction are applied here.
@inline(__always)
func pairwiseLoss(
    _ name: String, _ prediction: Tensor, _ target: Tensor, _ weights: Tensor?, _ reduction: LossReduction,
    perElement: (Double, Double) -> (loss: Double, derivative: Double)
) throws -> LossValue {
    try requireTargetShape(prediction, target, loss: name)
    let weighting = try LossWeighting(weights, itemDimensions: prediction.dimensions, loss: name)
    var gradient = try Tensor(shape: prediction.shape)
    var value: Float = 0
    prediction.withUnsafeBufferPointer { p in
        target.withUnsafeBufferPointer { t in
            gradient.withUnsafeMutableBufferPointer { g in
                guard let gradientStart = g.baseAddress else { return }
                value = weighting.reduce(reduction, width: 1, gradient: gradientStart) { i, row, factor in
                    let (loss, derivative) = perElement(Double(p[i]), Double(t[i]))
                    row[0] = saturatingFloat(derivative * factor)
                    return loss
                }
            }
        }
    }
    return LossValue(value: value, gradient: gradient)
}

extension LossWeighting {
    /// Reduces `itemCount` items of `width` gradient entries each.
    ///
    /// `item(i, row, factor)` returns item i's loss and overwrites `row` (its
    /// `width` entries of `gradient`) with its derivative times `factor`, which is
    /// `w / sum(w)` (mean) or `w` (sum). It is not called for items of weight 0,
    /// whose rows are zeroed. Losses accumulate in Float64.
    func reduce(
        _ reduction: LossReduction, width: Int, gradient: UnsafeMutablePointer<Float>,
        item: (_ index: Int, _ row: UnsafeMutablePointer<Float>, _ factor: Double) -> Double
    ) -> Float {
        var totalWeight = Double(itemCount)
        if let weights { totalWeight = weights.reduce(0) { $0 + Double($1) } * Double(groupSize) }
        let scale: Double = switch reduction {
        case .mean: totalWeight > 0 ? 1 / totalWeight : 0
        case .sum: 1
        }
        var total = 0.0
        for i in 0 ..< itemCount {
            let row = gradient + i * width
            let weight = Double(weight(ofItem: i))
            if weight == 0 || scale == 0 {
                row.update(repeating: 0, count: width)
                continue
            }
            total += weight * item(i, row, weight * scale)
        }
        return saturatingFloat(total * scale)
    }
}
