// The check a Trainer runs before an optimizer step, so that a step which would
// make a parameter NaN or infinite is refused before anything is written
// (instead of keeping a copy of every parameter and every optimizer state
// tensor to undo it). The passes themselves: FrameSequencingRuntime/ElementwisePasses.swift.

import FrameSequencing

/// Where a proposed optimizer step would leave a parameter NaN or infinite.
struct NonFiniteUpdate: Equatable {
    /// The parameter's index in the step's list.
    let parameter: Int
    /// The flat index of its first such element.
    let index: Int
    /// The value the step would write there.
    let value: Float
}

/// An optimizer that can tell, without writing anything, whether its next step
/// would leave a parameter non-finite: the package's ``SGD``, ``Adam`` and
/// ``AdamW``. The check computes every new parameter value with the step's own
/// per-element function, so it finds exactly the elements the step would make
/// NaN or infinite. A ``Trainer`` checks first and so needs no copy of the
/// parameters and state to undo a step; other optimizers are undone from a copy.
protocol PrecheckedOptimizer: Optimizer {
    /// The first parameter (lowest index, then lowest element) that
    /// ``Optimizer/step(parameters:gradients:)`` with these arguments would
    /// leave NaN or infinite, or nil when every value stays finite.
    ///
    /// - Throws: what the step would throw for these arguments.
    func firstNonFiniteUpdate(parameters: [Tensor], gradients: [Tensor]) throws -> NonFiniteUpdate?
}

/// IEEE square root (NaN below zero, -0 for -0) that vectorizes:
/// `Float.squareRoot()` compiles to a call of libm's `sqrtf` for negative inputs
/// (for `errno`), which keeps a loop scalar; the root of the magnitude cannot
/// take that path, and copying the sign back keeps sqrt(-0) = -0.
@inline(__always)
func squareRoot(_ x: Float) -> Float {
    x < 0 ? .nan : Float(signOf: x, magnitudeOf: x.magnitude.squareRoot())
}

/// `value`, returned by a call the optimizer does not look into. The optimizers'
/// loops run in closures; read from a closure's captures, their per-step
/// constants were reloaded every iteration (the stores through unsafe pointers
/// might alias the captures), and neither the update nor the check vectorized
/// (see Docs/Performance.md, "Design measurements"). A copy returned into the closure's own frame stays in
/// registers.
@inline(never)
func opaqueCopy<T>(_ value: T) -> T { value }
