import Dispatch
import Synchronization
import TensorCore

extension ParameterLoader {
    /// A loader over `parameters` with every tensor held in `dtype` (converted in parallel across tensors; those
    /// already in it are shared), or nil when none needs converting. Modules rebuild themselves from it to change
    /// their weight dtype once, at load.
    public static func converting(_ parameters: [String: Tensor], to dtype: DType) -> ParameterLoader? {
        guard parameters.values.contains(where: { $0.dtype != dtype }) else { return nil }
        let entries = Array(parameters)
        let results = Mutex<[String: Tensor]>([:])
        DispatchQueue.concurrentPerform(iterations: entries.count) { index in
            let (key, tensor) = entries[index]
            let converted = tensor.dtype == dtype ? tensor : tensor.converted(to: dtype)
            results.withLock { $0[key] = converted }
        }
        return ParameterLoader(source: results.withLock { $0 })
    }
}
