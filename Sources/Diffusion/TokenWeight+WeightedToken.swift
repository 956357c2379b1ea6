import Models
import Tokenizers

/// The tokenizer's weighted tokens go straight into the text encoder.
extension TokenWeight: WeightedToken {}
