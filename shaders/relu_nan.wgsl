// The ReLUs keep NaN (as PyTorch and the CPU backend do), so a diverged value stays visible: WGSL's
// max and clamp return the other operand of a NaN. A bit test (any payload, either sign; the
// infinities are numbers): no compiler folds it away. Included by every ReLU kernel.

fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

fn reluNaN(x: f32) -> f32 { return select(max(x, 0.0), x, isNan(x)); }
