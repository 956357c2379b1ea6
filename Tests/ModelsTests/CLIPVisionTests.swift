import Checkpoints
import Foundation
import LoomTestSupport
import MediaIO
import Models
import Testing
import TensorCore
import TensorNN

/// CLIP vision parity with ComfyUI 0.3.64 on the SVD seed-0 checkpoint (recipe:
/// ../shared/fixtures/comfy_svd_reduced_s0/components/components.json): `clip_preprocess` of the init
/// image within 1e-5, ViT-H/14 `image_embeds` within 1e-3 relative error. Plus the Hugging Face layout,
/// key errors, and the antialiased bicubic resize on cases the golden does not cover.
@Suite("CLIP vision encoder", .serialized)
struct CLIPVisionTests {
    static let components = ModelFixtures.svdFixtures.appendingPathComponent("components")

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    // MARK: goldens

    @Test("clip_preprocess of the init image matches ComfyUI's pixels")
    func preprocessingParity() throws {
        let image = try Self.loadPNG(ModelFixtures.svdFixtures.appendingPathComponent("init_image.png").path)
        #expect(image.shape == [1, 64, 64, 3])
        let pixels = CLIPImagePreprocessing.pixels(image, size: 224, crop: true)
        let golden = try NumpyArray(contentsOf: Self.components.appendingPathComponent("clip_pixel_values.npy").path)
        #expect(pixels.shape == golden.shape)
        let difference = Self.maxAbsDifference(pixels.scalars, golden.values)
        print("CLIP pixels: max |Δ| = \(difference)")
        #expect(difference <= 1e-5)
    }

    @Test("ViT-H/14 image embeddings from the SVD checkpoint match ComfyUI's")
    func imageEmbedsParity() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.svdReduced())
        let prefix = CLIPVisionEncoder.svdPrefix
        let configuration = try #require(try CLIPVisionConfiguration.detect(in: checkpoint.shapes, prefix: prefix))
        #expect(configuration == .vitH14)

        let loadStart = Date()
        let encoder = try CLIPVisionEncoder(checkpoint: checkpoint, prefix: prefix, configuration: configuration)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        #expect(encoder.loadReport.loaded == 3 + 2 + 32 * 16 + 2 + 1)  // embeddings, ln_pre, layers, ln_post, projection
        #expect(encoder.parameterCount == 632_076_800)

        let golden = try NumpyArray(contentsOf: Self.components.appendingPathComponent("clip_pixel_values.npy").path)
        let pixels = Tensor(shape: golden.shape, scalars: golden.values)
        let start = Date()
        let output = encoder.encode(pixels: pixels, backend: try testBackend())
        let seconds = Date().timeIntervalSince(start)

        #expect(output.lastHiddenState.shape == [1, 257, 1280])
        #expect(output.penultimateHiddenState.shape == [1, 257, 1280])
        #expect(output.imageEmbeds.shape == [1, 1024])
        let expected = try NumpyArray(contentsOf: Self.components.appendingPathComponent("clip_image_embeds.npy").path)
        #expect(expected.shape == [1, 1, 1024])
        let error = Parity.relativeError(output.imageEmbeds.scalars, reference: expected.values)
        print("CLIP ViT-H/14 image_embeds: relative error \(error); load \(loadSeconds) s, encode \(seconds) s")
        #expect(error <= 1e-3)
        let changed = Self.maxAbsDifference(output.lastHiddenState.scalars, output.penultimateHiddenState.scalars)
        #expect(changed > 0, "the penultimate hidden state is the last layer's input, not its output")
    }

    @Test("detection reads ViT-H/14 from both layouts and rejects unknown widths")
    func detection() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.svdReduced())
        let prefix = CLIPVisionEncoder.svdPrefix
        var huggingFace: [String: [Int]] = [:]
        for (key, shape) in checkpoint.shapes where key.hasPrefix(prefix) {
            for (name, converted) in Self.huggingFaceShapes(String(key.dropFirst(prefix.count)), shape, width: 1280) {
                huggingFace[name] = converted
            }
        }
        #expect(try CLIPVisionConfiguration.detect(in: huggingFace, prefix: "") == .vitH14)
        #expect(CLIPVisionConfiguration.vitH14.expectedKeys() == huggingFace)
        #expect(try CLIPVisionConfiguration.detect(in: checkpoint.shapes, prefix: "cond_stage_model.") == nil)

        for known in [CLIPVisionConfiguration.vitL14, .vitL14At336, .vitBigG14] {
            #expect(try CLIPVisionConfiguration.detect(in: known.expectedKeys(prefix: "clip."), prefix: "clip.") == known)
        }

        let tiny = Self.tinyOpenCLIP().mapValues(\.shape)
        #expect(throws: CheckpointError.self) { try CLIPVisionConfiguration.detect(in: tiny, prefix: "visual.") }
    }

    // MARK: layouts and keys

    static let tiny = CLIPVisionConfiguration(hiddenSize: 64, intermediateSize: 128, numLayers: 3, numHeads: 4, patchSize: 4,
                                              imageSize: 16, projectionDimension: 8, hiddenActivation: "gelu")

    @Test("Hugging Face keys load the same model as OpenCLIP keys")
    func huggingFaceLayout() throws {
        let openCLIP = Self.tinyOpenCLIP()
        let huggingFace = Self.toHuggingFace(openCLIP, prefix: "visual.", width: Self.tiny.hiddenSize)
        #expect(Self.tiny.expectedKeys().keys.sorted() == huggingFace.keys.sorted())

        let a = try CLIPVisionEncoder(source: openCLIP, prefix: "visual.", configuration: Self.tiny)
        var withExtras = huggingFace
        withExtras["vision_model.embeddings.position_ids"] = Tensor(zeros: [1, 17], dtype: .int64)
        withExtras["text_model.final_layer_norm.weight"] = Tensor(zeros: [32])
        let b = try CLIPVisionEncoder(source: withExtras, prefix: "", configuration: Self.tiny)
        #expect(b.loadReport.ignored == ["text_model.final_layer_norm.weight", "vision_model.embeddings.position_ids"])
        #expect(a.parameters.keys.sorted() == b.parameters.keys.sorted())
        let sameWeights = a.parameters.allSatisfy { key, tensor in b.parameters[key].map { $0.scalars == tensor.scalars } ?? false }
        #expect(sameWeights)

        let backend = try testBackend()
        let pixels = Tensor(shape: [2, 3, 16, 16], scalars: Self.noise(count: 2 * 3 * 16 * 16, seed: 9))
        let x = a.encode(pixels: pixels, backend: backend)
        let y = b.encode(pixels: pixels, backend: backend)
        #expect(x.imageEmbeds.shape == [2, 8])
        #expect(x.lastHiddenState.shape == [2, 17, 64])
        let same = x.imageEmbeds.scalars == y.imageEmbeds.scalars && x.lastHiddenState.scalars == y.lastHiddenState.scalars
            && x.penultimateHiddenState.scalars == y.penultimateHiddenState.scalars
        #expect(same)
        let finite = x.imageEmbeds.scalars.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test("a missing key is named as the file names it")
    func missingKey() throws {
        var huggingFace = Self.toHuggingFace(Self.tinyOpenCLIP(), prefix: "visual.", width: Self.tiny.hiddenSize)
        huggingFace["visual_projection.weight"] = nil
        let hfError = #expect(throws: ParameterLoadError.self) {
            try CLIPVisionEncoder(source: huggingFace, prefix: "", configuration: Self.tiny)
        }
        #expect(hfError?.report.missing == ["visual_projection.weight"])

        var openCLIP = Self.tinyOpenCLIP()
        openCLIP["visual.transformer.resblocks.1.attn.in_proj_weight"] = nil
        openCLIP["visual.ln_post.bias"] = nil
        let openError = #expect(throws: ParameterLoadError.self) {
            try CLIPVisionEncoder(source: openCLIP, prefix: "visual.", configuration: Self.tiny)
        }
        #expect(openError?.report.missing == ["visual.ln_post.bias", "visual.transformer.resblocks.1.attn.in_proj_weight"])
        #expect(openError?.description.contains("visual.transformer.resblocks.1.attn.in_proj_weight") == true)

        var extra = Self.tinyOpenCLIP()
        extra["visual.transformer.resblocks.3.ln_1.weight"] = Tensor(zeros: [64])
        let extraError = #expect(throws: ParameterLoadError.self) {
            try CLIPVisionEncoder(source: extra, prefix: "visual.", configuration: Self.tiny)
        }
        #expect(extraError?.report.unexpected == ["visual.transformer.resblocks.3.ln_1.weight"])
    }

    // MARK: preprocessing

    @Test("resizing keeps a constant image constant, up and down")
    func constantImage() {
        for (h, w, oh, ow) in [(50, 75, 20, 30), (9, 13, 224, 224), (300, 224, 224, 224), (7, 5, 7, 3)] {
            let x = Tensor(repeating: 0.375, shape: [1, 2, h, w])
            let y = CLIPImagePreprocessing.resizeBicubicAntialiased(x, height: oh, width: ow)
            #expect(y.shape == [1, 2, oh, ow])
            let worst = y.scalars.reduce(0) { max($0, abs($1 - 0.375)) }
            #expect(worst <= 1e-6, "\(h)×\(w) → \(oh)×\(ow): off by \(worst)")
        }
    }

    @Test("downscaling matches the antialiased bicubic filter computed independently in double precision")
    func downscaleReference() {
        let (h, w, oh, ow) = (37, 53, 11, 16)
        let values = Self.noise(count: h * w, seed: 3).map { $0 * 0.5 + 0.5 }
        let x = Tensor(shape: [1, 1, h, w], scalars: values)
        let y = CLIPImagePreprocessing.resizeBicubicAntialiased(x, height: oh, width: ow).scalars
        let reference = Self.referenceResize(values.map(Double.init), h, w, oh, ow)
        let difference = zip(y, reference).reduce(0.0) { max($0, abs(Double($1.0) - $1.1)) }
        #expect(difference <= 1e-5)

        // A one-pixel checkerboard shrunk fourfold is filtered to grey, not aliased.
        let board: [Float] = (0..<(64 * 64)).map { (i: Int) -> Float in (i / 64 + i % 64) % 2 == 0 ? 0 : 1 }
        let grey = CLIPImagePreprocessing.resizeBicubicAntialiased(Tensor(shape: [1, 1, 64, 64], scalars: board), height: 16, width: 16)
        let greyValues = grey.scalars
        let interior: [Float] = (2..<14).flatMap { (r: Int) in (2..<14).map { greyValues[r * 16 + $0] } }
        let filtered = interior.allSatisfy { abs($0 - 0.5) < 0.02 }
        #expect(filtered)
    }

    @Test("crop, squash and channel handling follow clip_preprocess")
    func preprocessingShapes() {
        #expect(CLIPImagePreprocessing.resizedSize(height: 64, width: 128, size: 224, crop: true) == (224, 448))
        #expect(CLIPImagePreprocessing.resizedSize(height: 300, width: 200, size: 224, crop: true) == (336, 224))
        #expect(CLIPImagePreprocessing.resizedSize(height: 300, width: 200, size: 224, crop: false) == (224, 224))

        // An image already at the size is only quantised and normalised; alpha is dropped.
        let rgba = Self.noise(count: 4 * 4 * 4, seed: 5).map { $0 * 0.5 + 0.5 }
        let pixels = CLIPImagePreprocessing.pixels(Tensor(shape: [1, 4, 4, 4], scalars: rgba), size: 4, crop: true)
        #expect(pixels.shape == [1, 3, 4, 4])
        let p = pixels.scalars
        var exact = true
        for c in 0..<3 {
            for i in 0..<16 {
                let level = (255 * rgba[i * 4 + c]).rounded(.toNearestOrEven) / 255
                let expected = (level - CLIPImagePreprocessing.mean[c]) / CLIPImagePreprocessing.standardDeviation[c]
                exact = exact && p[c * 16 + i] == expected
            }
        }
        #expect(exact)

        // A wide image is centre-cropped: the middle column of the resize survives.
        let wide = Tensor(shape: [1, 8, 16, 3], scalars: (0..<(8 * 16 * 3)).map { Float(($0 / 3) % 16) / 15 })
        let cropped = CLIPImagePreprocessing.pixels(wide, size: 8, crop: true)
        #expect(cropped.shape == [1, 3, 8, 8])
        let squashed = CLIPImagePreprocessing.pixels(wide, size: 8, crop: false)
        #expect(squashed.shape == [1, 3, 8, 8])
        #expect(cropped.scalars[0] > squashed.scalars[0])
    }

    // MARK: helpers

    /// Deterministic values in −1…1.
    static func noise(count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
    }

    /// A random tower of the ``tiny`` shape in the OpenCLIP layout under `visual.`.
    static func tinyOpenCLIP() -> [String: Tensor] {
        let c = tiny, w = c.hiddenSize, p = "visual."
        var shapes: [String: [Int]] = [
            p + "class_embedding": [w], p + "conv1.weight": [w, 3, c.patchSize, c.patchSize],
            p + "positional_embedding": [c.sequenceLength, w], p + "proj": [w, c.projectionDimension],
            p + "ln_pre.weight": [w], p + "ln_pre.bias": [w], p + "ln_post.weight": [w], p + "ln_post.bias": [w],
        ]
        for i in 0..<c.numLayers {
            let q = p + "transformer.resblocks.\(i)."
            for n in ["ln_1", "ln_2"] { shapes[q + n + ".weight"] = [w]; shapes[q + n + ".bias"] = [w] }
            shapes[q + "attn.in_proj_weight"] = [3 * w, w]
            shapes[q + "attn.in_proj_bias"] = [3 * w]
            shapes[q + "attn.out_proj.weight"] = [w, w]
            shapes[q + "attn.out_proj.bias"] = [w]
            shapes[q + "mlp.c_fc.weight"] = [c.intermediateSize, w]
            shapes[q + "mlp.c_fc.bias"] = [c.intermediateSize]
            shapes[q + "mlp.c_proj.weight"] = [w, c.intermediateSize]
            shapes[q + "mlp.c_proj.bias"] = [w]
        }
        var tensors: [String: Tensor] = [:]
        for (k, (key, shape)) in shapes.sorted(by: { $0.key < $1.key }).enumerated() {
            let scale: Float = key.hasSuffix("ln_1.weight") || key.hasSuffix("ln_2.weight") || key.contains("ln_p") ? 0.2 : 0.1
            let offset: Float = key.hasSuffix(".weight") && key.contains("ln_") ? 1 : 0
            tensors[key] = Tensor(shape: shape, scalars: noise(count: shape.reduce(1, *), seed: UInt64(k)).map { $0 * scale + offset })
        }
        return tensors
    }

    /// ComfyUI's `convert_to_transformers`, written out: OpenCLIP names to Hugging Face names, q/k/v split
    /// from the fused projection, the projection transposed.
    static func toHuggingFace(_ tensors: [String: Tensor], prefix: String, width: Int) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, tensor) in tensors {
            for (name, shape) in huggingFaceShapes(String(key.dropFirst(prefix.count)), tensor.shape, width: width) {
                let values = tensor.scalars
                let converted: [Float]
                if key.hasSuffix("in_proj_weight") || key.hasSuffix("in_proj_bias") {
                    let part = ["q_proj", "k_proj", "v_proj"].firstIndex { name.contains($0) }!
                    let rowSize = values.count / (3 * width)
                    converted = Array(values[(part * width * rowSize)..<((part + 1) * width * rowSize)])
                } else if key == prefix + "proj" {
                    let (rows, columns) = (tensor.shape[0], tensor.shape[1])
                    converted = (0..<(rows * columns)).map { values[($0 % rows) * columns + $0 / rows] }
                } else {
                    converted = values
                }
                out[name] = Tensor(shape: shape, scalars: converted)
            }
        }
        return out
    }

    /// The Hugging Face name(s) and shape(s) of one OpenCLIP tensor (key without the prefix).
    static func huggingFaceShapes(_ key: String, _ shape: [Int], width: Int) -> [(String, [Int])] {
        let v = "vision_model."
        switch key {
        case "class_embedding": return [(v + "embeddings.class_embedding", shape)]
        case "conv1.weight": return [(v + "embeddings.patch_embedding.weight", shape)]
        case "positional_embedding": return [(v + "embeddings.position_embedding.weight", shape)]
        case "proj": return [("visual_projection.weight", [shape[1], shape[0]])]
        default: break
        }
        for (from, to) in [("ln_pre.", "pre_layrnorm."), ("ln_post.", "post_layernorm.")] where key.hasPrefix(from) {
            return [(v + to + key.dropFirst(from.count), shape)]
        }
        let parts = key.split(separator: ".", maxSplits: 3).map(String.init)  // transformer resblocks N rest
        let layer = v + "encoder.layers.\(parts[2])."
        let rest = parts[3]
        if rest.hasPrefix("attn.in_proj_") {
            let suffix = rest.hasSuffix("weight") ? "weight" : "bias"
            let split = [width] + shape.dropFirst()
            return ["q_proj", "k_proj", "v_proj"].map { (layer + "self_attn.\($0).\(suffix)", split) }
        }
        let renames = [("ln_1.", "layer_norm1."), ("ln_2.", "layer_norm2."), ("attn.out_proj.", "self_attn.out_proj."),
                       ("mlp.c_fc.", "mlp.fc1."), ("mlp.c_proj.", "mlp.fc2.")]
        let (from, to) = renames.first { rest.hasPrefix($0.0) }!
        return [(layer + to + rest.dropFirst(from.count), shape)]
    }

    /// Antialiased bicubic resampling straight from its definition, in double precision: output sample
    /// `i` centred at `(i + ½)·s` in input coordinates (`s = in/out`) weighs input pixel `j` (centre
    /// `j + ½`) by `k((j + ½ − centre)/max(s, 1))`, Keys' kernel with a = −0.5, normalised over the pixels
    /// inside the image. Rows first, then columns.
    static func referenceResize(_ x: [Double], _ h: Int, _ w: Int, _ oh: Int, _ ow: Int) -> [Double] {
        func keys(_ t: Double) -> Double {
            let a = -0.5, t = abs(t)
            if t < 1 { return (a + 2) * t * t * t - (a + 3) * t * t + 1 }
            if t < 2 { return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a }
            return 0
        }
        func weights(_ n: Int, _ m: Int) -> [[Double]] {
            let s = Double(n) / Double(m), stretch = max(s, 1)
            return (0..<m).map { i in
                let centre = (Double(i) + 0.5) * s
                let raw = (0..<n).map { j in abs(Double(j) + 0.5 - centre) < 2 * stretch ? keys((Double(j) + 0.5 - centre) / stretch) : 0 }
                let total = raw.reduce(0, +)
                return raw.map { $0 / total }
            }
        }
        let wx = weights(w, ow), wy = weights(h, oh)
        var rows = [Double](repeating: 0, count: h * ow)
        for y in 0..<h { for i in 0..<ow { rows[y * ow + i] = (0..<w).reduce(0) { $0 + wx[i][$1] * x[y * w + $1] } } }
        var out = [Double](repeating: 0, count: oh * ow)
        for i in 0..<oh { for c in 0..<ow { out[i * ow + c] = (0..<h).reduce(0) { $0 + wy[i][$1] * rows[$1 * ow + c] } } }
        return out
    }

    /// A PNG as a ComfyUI IMAGE `[1, H, W, 3]` in 0…1 (what `LoadImage` gives the node).
    static func loadPNG(_ path: String) throws -> Tensor {
        Tensor.image(frames: try decodeImage([UInt8](Data(contentsOf: URL(fileURLWithPath: path)))))
    }
}
