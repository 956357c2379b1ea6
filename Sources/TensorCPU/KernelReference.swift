/// Naive, obviously-correct implementations of every TensorCPU kernel, used by the parity tests.
///
/// Each family file extends this namespace next to its fast kernel. They accumulate in `Double` where it matters and
/// favour clarity over speed; never call them on a hot path.
public enum KernelReference {}
