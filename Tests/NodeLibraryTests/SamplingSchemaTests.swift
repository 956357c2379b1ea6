import FolderPaths
import Foundation
import NodeLibrary
import Testing
import Workflow

/// `/object_info` of the sampling, latent and VAE nodes: the input order (widget values in exported
/// workflows are matched by position), bounds, defaults and combos of ComfyUI's section 6 definitions.
@Suite struct SamplingSchemaTests {
    let registry = BuiltinNodes.registry(NodeEnvironment(directories: DataDirectories(base: "/nonexistent-loom-test")))

    func schema(_ name: String) throws -> NodeSchema { try #require(registry[name]).schema }
    func info(_ name: String) throws -> String { try schema(name).objectInfoJSON.jsonString() }

    @Test func kSampler() throws {
        let s = try schema("KSampler")
        #expect(s.category == "sampling")
        #expect(s.required.map(\.name) == ["model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative",
                                           "latent_image", "denoise"])
        #expect(s.outputs.map(\.type) == ["LATENT"])
        let json = try info("KSampler")
        #expect(json.contains(#""max": 18446744073709551615"#))
        #expect(json.contains(#""control_after_generate": true"#))
        #expect(json.contains(#"["euler", "euler_ancestral", "heun", "heunpp2", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu""#))
        #expect(json.contains(#"["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal", "linear_quadratic", "kl_optimal"]"#))
        #expect(json.contains(#""ddim", "uni_pc", "uni_pc_bh2"]"#))
    }

    @Test func kSamplerAdvanced() throws {
        let s = try schema("KSamplerAdvanced")
        #expect(s.displayName == "KSampler (Advanced)")
        #expect(s.required.map(\.name) == ["model", "add_noise", "noise_seed", "steps", "cfg", "sampler_name", "scheduler",
                                           "positive", "negative", "latent_image", "start_at_step", "end_at_step",
                                           "return_with_leftover_noise"])
        #expect(try info("KSamplerAdvanced").contains(#"[["disable", "enable"]]"#))
    }

    @Test func latentAndVAENodes() throws {
        #expect(try schema("EmptyLatentImage").required.map(\.name) == ["width", "height", "batch_size"])
        #expect(try info("EmptyLatentImage").contains(#""width": ["INT", {"default": 512, "min": 16, "max": 16384, "step": 8"#))
        #expect(try schema("VAEDecode").required.map(\.name) == ["samples", "vae"])
        #expect(try schema("VAEEncode").required.map(\.name) == ["pixels", "vae"])
        #expect(try schema("VAEDecodeTiled").required.map(\.name) == ["samples", "vae", "tile_size", "overlap", "temporal_size",
                                                                       "temporal_overlap"])
        #expect(try schema("VAEEncodeTiled").required.map(\.name) == ["pixels", "vae", "tile_size", "overlap", "temporal_size",
                                                                       "temporal_overlap"])
        #expect(try schema("VAELoader").required.map(\.name) == ["vae_name"])
        #expect(try schema("LatentUpscale").required.map(\.name) == ["samples", "upscale_method", "width", "height", "crop"])
        #expect(try info("LatentUpscale").contains(#"["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]"#))
        #expect(try schema("LatentUpscaleBy").required.map(\.name) == ["samples", "upscale_method", "scale_by"])
        #expect(try schema("SetLatentNoiseMask").required.map(\.name) == ["samples", "mask"])
        #expect(try schema("LatentFromBatch").required.map(\.name) == ["samples", "batch_index", "length"])
        #expect(try schema("RepeatLatentBatch").required.map(\.name) == ["samples", "amount"])
    }
}
