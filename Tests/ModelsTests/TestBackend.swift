import TensorCore
import TensorCPU
import Tokenizers
import Models

/// One CPU engine for the whole test process (its thread pools are process-wide).
private let sharedEngine = Result { try CPUEngine() }

/// The backend the model tests run on: TensorCPU's fast backend.
func testBackend() throws -> some Backend {
    CPUBackend(engine: try sharedEngine.get())
}

extension TokenWeight: WeightedToken {}
