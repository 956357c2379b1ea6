import Checkpoints
import TensorCore
import TensorNN

/// The SD1.x text encoder as ComfyUI runs it (`SDClipModel` + `ClipTokenWeightEncoder`): 77-token
/// windows through the CLIP-L text tower, prompt weights applied by interpolating towards the
/// encoding of an empty prompt, windows concatenated along the sequence, pooled output from the
/// first window.
///
/// Weights stay in the checkpoint's dtype (f16 for SD1.x files), borrowed from the mapping; the
/// backend converts them at use, so activations are float32 throughout (ComfyUI's `manual_cast`).
public struct CLIPTextEncoder: Module {
    public let configuration: CLIPTextEncoderConfiguration
    /// What loading found: every key read, ignored (e.g. `position_ids`) or — never, once loaded — missing.
    public let loadReport: ParameterLoadReport
    let transformer: CLIPTextTransformer

    /// Builds the encoder from parameters already opened by `loader` (its prefix is the text model's).
    ///
    /// - Throws: ``ParameterLoadError`` when a key is missing, misshapen, unreadable or unexpected.
    public init(loader: ParameterLoader, configuration: CLIPTextEncoderConfiguration) throws(ParameterLoadError) {
        self.configuration = configuration
        transformer = CLIPTextTransformer(loader.root, configuration: configuration.transformer)
        loadReport = try loader.finish(module: "CLIP text encoder")
    }

    /// Parameters by key relative to the text model prefix (`embeddings.token_embedding.weight`, …).
    public var parameters: [String: Tensor] { transformer.parameters }

    /// The same encoder with every weight converted to `dtype` once (e.g. float32: twice the memory of
    /// f16, no per-call conversion). The load report is kept.
    public func converted(to dtype: DType) -> CLIPTextEncoder {
        let loader = ParameterLoader(source: parameters.mapValues { $0.converted(to: dtype) })
        let rebuilt = CLIPTextTransformer(loader.root, configuration: configuration.transformer)
        precondition(loader.currentReport.isClean, "CLIP: converting the weights lost keys: \(loader.currentReport.summary())")
        return CLIPTextEncoder(configuration: configuration, loadReport: loadReport, transformer: rebuilt)
    }

    private init(configuration: CLIPTextEncoderConfiguration, loadReport: ParameterLoadReport, transformer: CLIPTextTransformer) {
        self.configuration = configuration
        self.loadReport = loadReport
        self.transformer = transformer
    }

    /// Encodes tokenized prompt windows as `CLIPTextEncode` does.
    ///
    /// All windows (and, when any weight is not 1, an empty window `[start, end, pad…]`) run as one
    /// batch. For each token whose weight `w ≠ 1`, `z = (z − z_empty)·w + z_empty` with the empty
    /// window's hidden state at the same position. With no windows the empty prompt's encoding is
    /// returned.
    ///
    /// A token whose ``WeightedToken/embeddingRow`` is set takes row `index` of `embeddings[key]`
    /// in place of its id's token-embedding row; position embeddings are added as usual (ComfyUI's
    /// `process_tokens`). Check the inputs first with ``checkEmbeddings(_:embeddings:)``: a missing
    /// key, a row out of range or a wrong width stops the process here.
    ///
    /// - Parameters:
    ///   - windows: token windows of equal length (77 for SD1.x), e.g. `CLIPTokenizer.tokenizeWithWeights`.
    ///   - layer: which hidden state is the conditioning (`CLIPSetLastLayer`).
    ///   - embeddings: textual-inversion vectors `[n, hidden]` by key (``TextualInversion/load(path:width:)``).
    ///   - backend: where the compute runs (call from a compute thread).
    /// - Returns: `conditioning[1, length·windows, hidden]` and `pooled[1, hidden]`: the final-layer-normed
    ///   last hidden state of the first window at its first end token (no projection, as SD1.x).
    public func encode<Token: WeightedToken>(_ windows: [[Token]], layer: CLIPOutputLayer = .last,
                                             embeddings: [String: Tensor] = [:],
                                             backend: some Backend) -> (conditioning: Tensor, pooled: Tensor) {
        let length = windows.map(\.count).max() ?? configuration.transformer.maxPositionEmbeddings
        precondition(windows.allSatisfy { $0.count == length }, "CLIP: windows of different lengths \(windows.map(\.count))")
        let hasWeights = windows.contains { $0.contains { $0.weight != 1 } }
        var sequences = windows.map { $0.map(\.id) }
        if hasWeights || windows.isEmpty { sequences.append(emptyTokens(length: length)) }

        let ids = Tensor(shape: [sequences.count, length], int64s: sequences.flatMap { $0.map(Int64.init) })
        let intermediate: Int? = if case .hidden(let index) = layer { index } else { nil }
        let replacements: [CLIPEmbeddings.Replacement]
        do {
            replacements = try embeddingReplacements(windows, embeddings: embeddings)
        } catch {
            preconditionFailure("CLIP: \(error)")
        }
        let (last, hidden) = transformer(ids, intermediate: intermediate,
                                         normalizeIntermediate: configuration.layerNormHiddenState,
                                         replacing: replacements, backend: backend)
        let z = backend.contiguous(hidden ?? last)
        let pooled = pooledOutput(last, sequence: 0, tokens: sequences[0])

        guard !windows.isEmpty else { return (z.narrowed(dim: 0, start: 0, length: 1), pooled) }
        var parts: [Tensor] = []
        for (k, window) in windows.enumerated() {
            var part = z.narrowed(dim: 0, start: k, length: 1).contiguous(forceCopy: true)
            if hasWeights {
                let empty = z.narrowed(dim: 0, start: windows.count, length: 1)
                Self.interpolate(&part, towards: empty, weights: window.map(\.weight))
            }
            parts.append(part)
        }
        return (Tensor.concatenated(parts, dim: 1), pooled)
    }

    /// ComfyUI's `gen_empty_tokens`: start, end, then padding to `length`.
    func emptyTokens(length: Int) -> [Int] {
        let head = [configuration.startToken, configuration.endToken].prefix(length)
        return Array(head) + [Int](repeating: configuration.padToken, count: max(0, length - head.count))
    }

    /// `hidden[sequence, p]` where `p` is the first end token of `tokens` (the last position if none):
    /// ComfyUI's `num_tokens - 1`.
    func pooledOutput(_ hidden: Tensor, sequence: Int, tokens: [Int]) -> Tensor {
        let position = tokens.firstIndex(of: configuration.endToken) ?? (tokens.count - 1)
        let row = hidden.narrowed(dim: 0, start: sequence, length: 1).narrowed(dim: 1, start: position, length: 1)
        return row.contiguous(as: .float32).reshaped([1, hidden.shape[2]])
    }

    /// `z[0, j] = (z[0, j] − empty[0, j])·w_j + empty[0, j]` for each `w_j ≠ 1`, in float32 as torch does.
    static func interpolate(_ z: inout Tensor, towards empty: Tensor, weights: [Double]) {
        let width = z.shape[2]
        let base = empty.contiguous(as: .float32)
        base.withFloats { e in
            z.withMutableFloats { values in
                for (j, weight) in weights.enumerated() where weight != 1 {
                    let w = Float(weight)
                    for c in (j * width)..<((j + 1) * width) { values[c] = (values[c] - e[c]) * w + e[c] }
                }
            }
        }
    }
}
