import FrameSequencing

/// The (hidden, cell) state of an LSTM-style recurrence, ``LSTMState`` and
/// ``ConvLSTMState`` by their layers' names.
public struct CellState: Sendable, Equatable {
    /// h: an LSTM's (layers * directions, batch, hidden), a ConvLSTM2D's (B, H', W', F).
    public var hidden: Tensor
    /// c: the shape of `hidden`.
    public var cell: Tensor

    /// A state of the given tensors (checked where it is used).
    public init(hidden: Tensor, cell: Tensor) { (self.hidden, self.cell) = (hidden, cell) }
}

/// The (hidden, cell) state of every layer and direction of an ``LSTM``: each
/// (layers * directions, batch, hidden), PyTorch's `(h_n, c_n)` layout
/// (layer-major, forward before reverse).
public typealias LSTMState = CellState

/// The (hidden, cell) state of a ``ConvLSTM2D``, each (B, H', W', F).
public typealias ConvLSTMState = CellState

extension CellState {
    /// The zero state of `lstm` for `batch` sequences: h (L*D, B, hiddenStateSize), c (L*D, B, hiddenSize).
    public static func zeros(for lstm: LSTM, batch: Int) throws -> LSTMState {
        let names = ["layers*directions", "batch", "hidden"]
        let entries = lstm.layerCount * lstm.directionCount
        return CellState(hidden: try Tensor(shape: Shape([entries, batch, lstm.hiddenStateSize], names: names)),
                         cell: try Tensor(shape: Shape([entries, batch, lstm.hiddenSize], names: names)))
    }

    /// The zero state of `batch` sequences on a (height, width) grid of `filters` channels.
    public static func zeros(batch: Int, height: Int, width: Int, filters: Int) throws -> ConvLSTMState {
        try zeros([batch, height, width, filters], names: ["batch", "height", "width", "filters"])
    }

    private static func zeros(_ dimensions: [Int], names: [String]) throws -> CellState {
        let shape = Shape(dimensions, names: names)
        return CellState(hidden: try Tensor(shape: shape), cell: try Tensor(shape: shape))
    }
}
