// Recomputation (``Recomputation``) for the models that hold recurrent
// layers: one call sets it on every LSTM or ConvLSTM2D a model holds, so a
// memory plan can turn it on for a model as a whole.

extension ConvLSTMForecaster {
    /// Sets ``ConvLSTM2D/recomputation`` on every layer of both stacks. The
    /// forecaster stack runs ``horizon`` steps, so a `k` of at least the horizon
    /// recomputes it as one segment (keeping no state but its initial one).
    ///
    /// - Throws: `invalidArgument` for a ``Recomputation/keepStatesEvery(_:)`` below 1.
    public mutating func setRecomputation(_ recomputation: Recomputation) throws {
        try recomputation.validate()
        for index in encoder.indices { encoder[index].recomputation = recomputation }
        for index in forecaster.indices { forecaster[index].recomputation = recomputation }
    }
}

extension CNNLSTM {
    /// Sets ``LSTM/recomputation`` on the model's LSTM.
    ///
    /// - Throws: `invalidArgument` for a ``Recomputation/keepStatesEvery(_:)`` below 1.
    public mutating func setRecomputation(_ recomputation: Recomputation) throws {
        try recomputation.validate()
        lstm.recomputation = recomputation
    }
}

extension CNNLSTMForecaster {
    /// Sets ``LSTM/recomputation`` on the model's LSTM.
    ///
    /// - Throws: `invalidArgument` for a ``Recomputation/keepStatesEvery(_:)`` below 1.
    public mutating func setRecomputation(_ recomputation: Recomputation) throws {
        try recomputation.validate()
        lstm.recomputation = recomputation
    }
}

extension UNetForecaster {
    /// Sets ``ConvLSTM2D/recomputation`` on the model's bottleneck.
    ///
    /// - Throws: `invalidArgument` for a ``Recomputation/keepStatesEvery(_:)`` below 1.
    public mutating func setRecomputation(_ recomputation: Recomputation) throws {
        try recomputation.validate()
        bottleneck.recomputation = recomputation
    }
}
