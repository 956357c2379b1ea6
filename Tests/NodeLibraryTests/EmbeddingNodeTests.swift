import LoomTestSupport
import Checkpoints
import Diffusion
import Foundation
import NodeLibrary
import TensorCore
import Testing
import Tokenizers

/// `embedding:NAME` in a CLIPTextEncode prompt, resolved from models/embeddings.
@Suite("Textual-inversion embeddings through CLIPTextEncode")
struct EmbeddingNodeTests {
    static let tokenTable = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"

    /// An embedding whose single vector is the token row of "photo" encodes exactly like the word.
    @Test func embeddingFromTheModelsFolderEncodesLikeItsWord() throws {
        let tokenizer = try CLIPTokenizer()
        let ids = tokenizer.encode("photo")
        try #require(ids.count == 1)
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        let table = try checkpoint.tensor(Self.tokenTable)
        let row = table.narrowed(dim: 0, start: ids[0], length: 1).scalars
        let harness = try NodeHarness { directories in
            try writeSafetensors(["emb_params": row], to: directories.models + "/embeddings/foo.safetensors")
        }
        try harness.run(NodeHarness.prompt(["a embedding:foo, red", "a photo, red"]))
        let viaEmbedding = try #require(harness.captured["20"]?.entries.first?.cond)
        let viaWord = try #require(harness.captured["21"]?.entries.first?.cond)
        #expect(viaEmbedding.shape == viaWord.shape)
        let difference = zip(viaEmbedding.scalars, viaWord.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference < 1e-6)
    }

    /// A missing embedding is dropped (ComfyUI's behaviour) and the prompt still runs.
    @Test func missingEmbeddingIsDroppedAndTheRunSucceeds() throws {
        let harness = try NodeHarness()
        let outcome = try harness.run(NodeHarness.prompt(["a embedding:nothing_here photo"]))
        #expect(outcome.status == .success)
        #expect(harness.captured["20"] != nil)
    }
}
