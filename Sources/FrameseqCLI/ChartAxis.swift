import Foundation

/// One axis of an ``SVGChart``: the values it spans, how they map to pixels
/// (linearly, or by their logarithm when they span more than a decade) and
/// the ticks labelled along it.
struct ChartAxis: Equatable {
    enum Scale: Equatable { case linear, logarithmic }

    var scale: Scale
    /// The values at the axis's two ends (positive for a logarithmic axis).
    var lower: Double
    var upper: Double
    /// Values at which a tick, a grid line and a label are drawn, ascending.
    var ticks: [Double]

    /// An axis spanning `values` (non-finite ones are ignored).
    ///
    /// Logarithmic when `allowsLog` and every value is positive and the largest
    /// is more than 10 times the smallest; its ends are the decades around the
    /// values, ticked at each decade (and at 2 and 5 times it when it spans at
    /// most two decades). Otherwise linear, with ends and ticks on multiples of
    /// 1, 2, 2.5 or 5 times a power of ten, about five ticks; `integers` keeps
    /// ticks on whole numbers (epochs, steps), and the ends on the values
    /// themselves so lines reach the plot's edges, the first end ticked too.
    ///
    /// Edge behaviour: no finite value gives 0...1; equal values are widened
    /// by 1 on each side for `integers`, else by a tenth of their size (or 1 for 0).
    static func fitting(_ values: [Double], allowsLog: Bool, integers: Bool = false) -> ChartAxis {
        let finite = values.filter(\.isFinite)
        guard var low = finite.min(), var high = finite.max() else { return linear(0, 1, integers: integers) }
        if allowsLog, low > 0, high / low > 10 {
            let (first, last) = (floor(log10(low)), ceil(log10(high)))
            var ticks: [Double] = []
            for exponent in stride(from: first, through: last, by: 1) {
                let decade = pow(10, exponent)
                ticks.append(decade)
                if last - first <= 2, exponent < last { ticks += [2 * decade, 5 * decade] }
            }
            return ChartAxis(scale: .logarithmic, lower: pow(10, first), upper: pow(10, last), ticks: ticks)
        }
        if low == high {
            let widening = integers ? 1 : (low == 0 ? 1 : abs(low) / 10)
            (low, high) = (low - widening, high + widening)
        }
        return linear(low, high, integers: integers)
    }

    private static func linear(_ low: Double, _ high: Double, integers: Bool) -> ChartAxis {
        var step = niceStep((high - low) / 5)
        if integers { step = max(1, step.rounded(.up)) }
        let (lower, upper) = integers ? (low, high) : (floor(low / step) * step, ceil(high / step) * step)
        var ticks: [Double] = []
        var tick = ceil(lower / step - 1e-9) * step
        while tick <= upper + step * 1e-9 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        // A count axis also labels where it starts (step 1, epoch 1) when that is not crowded.
        if integers, let first = ticks.first, first - lower >= step / 2 { ticks.insert(lower, at: 0) }
        return ChartAxis(scale: .linear, lower: lower, upper: upper, ticks: ticks)
    }

    /// The smallest of 1, 2, 2.5, 5 and 10 times a power of ten at least `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let power = pow(10, floor(log10(rough)))
        return ([1, 2, 2.5, 5, 10].first { $0 * power >= rough * (1 - 1e-12) } ?? 10) * power
    }

    /// Where `value` falls between the ends: 0 at `lower`, 1 at `upper`; nil
    /// for a value a logarithmic axis cannot show (zero, negative, not finite).
    func fraction(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch scale {
        case .linear:
            return (value - lower) / (upper - lower)
        case .logarithmic:
            guard value > 0 else { return nil }
            return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// Where `value` is drawn on an axis running from pixel `start` (at
    /// `lower`) to pixel `end` (at `upper`; smaller than `start` for a y axis
    /// drawn upwards); nil where ``fraction(_:)`` is nil.
    func position(_ value: Double, from start: Double, to end: Double) -> Double? {
        fraction(value).map { start + $0 * (end - start) }
    }

    /// A tick's label: as short as the ticks' spacing allows (`0.025`, `1e-05`, `300`).
    func label(_ value: Double) -> String {
        if scale == .logarithmic || value == 0 { return String(format: "%g", value) }
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : abs(value)
        guard abs(value) < 1e5, abs(value) >= 1e-4 else { return String(format: "%g", value) }
        // Enough decimals for the step (2.5e-3 needs 4), none for whole steps.
        var decimals = 0
        while decimals < 8, abs(step * pow(10, Double(decimals)) - (step * pow(10, Double(decimals))).rounded()) > 1e-6 {
            decimals += 1
        }
        return String(format: "%.\(decimals)f", value)
    }
}
