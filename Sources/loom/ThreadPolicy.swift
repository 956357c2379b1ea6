#if canImport(Glibc)
import Glibc
#endif

/// Thread-pool settings that must be in the environment before the process starts.
///
/// oneDNN runs its primitives on libgomp's OpenMP pool, which reads `OMP_WAIT_POLICY` once, when the library is
/// loaded. Its default lets idle pool threads spin for a while after every primitive; on a machine with few cores
/// that spinning takes the cores from the other pools the engine uses between primitives (OpenBLAS's and
/// Dispatch's), and a sampling step of the SD1.x UNet at 256x256 on 2 cores takes 2.4 s instead of 1.7 s. Loom
/// therefore starts itself again with `OMP_WAIT_POLICY=PASSIVE` unless the variable is already set (an operator
/// who sets it keeps their choice).
enum ThreadPolicy {
    static let variable = "OMP_WAIT_POLICY"

    /// Re-executes the current program with `OMP_WAIT_POLICY=PASSIVE` when the variable is unset; returns (and
    /// the process runs with the default policy) if that is not possible.
    static func applyBeforeStart() {
        guard getenv(variable) == nil else { return }
        setenv(variable, "PASSIVE", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv only returns on failure: keep running as we are.
    }
}
