import Foundation
import Testing
import FolderPaths
import MediaIO
import TensorCore
import Workflow
@testable import NodeLibrary

/// A data directory with the layout created, plus the registry for it.
struct NodeFixture {
    let dir = TempDir()
    let env: NodeEnvironment
    let registry: NodeRegistry

    init(disableMetadata: Bool = false, maxPixels: Int = NodeEnvironment.defaultMaxPixels) {
        env = NodeEnvironment(directories: DataDirectories(base: dir.path), disableMetadata: disableMetadata,
                              maxPixels: maxPixels)
        try! env.directories.createLayout()
        registry = BuiltinNodes.registry(env)
    }

    func run(_ node: String, _ inputs: [String: NodeValue], prompt: JSONValue = .null,
             extra: JSONValue? = nil) throws -> NodeResult {
        try registry[node]!.execute(invocation(inputs, prompt: prompt, extra: extra))
    }

    func tensor(_ result: NodeResult, _ index: Int = 0) -> Tensor {
        guard case .object(let o) = result.outputs[index], let t = o as? Tensor else { fatalError("not a tensor") }
        return t
    }
}

@Suite struct RegistryTests {
    @Test func schemasMatchComfyUI() {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        #expect(f.registry.order == ["CheckpointLoaderSimple", "CLIPTextEncode", "CLIPSetLastLayer",
                                     "ConditioningCombine", "ConditioningAverage", "ConditioningConcat",
                                     "ConditioningSetArea", "ConditioningSetAreaPercentage", "ConditioningSetAreaStrength",
                                     "ConditioningSetMask", "ConditioningZeroOut", "ConditioningSetTimestepRange",
                                     "LoadImage", "SaveImage", "PreviewImage", "EmptyImage", "ImageScale",
                                     "ImageInvert", "ImageBatch", "ImageCrop", "CLIPLoader", "VAELoader",
                                     "CLIPVisionLoader", "CLIPVisionEncode", "EmptyLatentImage", "KSampler", "KSamplerAdvanced", "VAEDecode", "VAEEncode",
                                     "VAEDecodeTiled", "VAEEncodeTiled", "LatentUpscale", "LatentUpscaleBy",
                                     "SetLatentNoiseMask", "LatentFromBatch", "RepeatLatentBatch", "ModelSamplingDiscrete",
                                     "LoadLatent", "SaveLatent", "ImageOnlyCheckpointLoader", "SVD_img2vid_Conditioning",
                                     "VideoLinearCFGGuidance", "VideoTriangleCFGGuidance", "ImageFromBatch", "RepeatImageBatch", "RebatchImages", "SaveAnimatedWEBP", "SaveAnimatedPNG",
                                     "SaveWEBM", "SaveVideo", "CreateVideo", "GetVideoComponents", "LoadVideo", "VHS_VideoCombine"])
        let names = { (n: String) in f.registry[n]!.schema.required.map(\.name) }
        #expect(names("SVD_img2vid_Conditioning") == ["clip_vision", "init_image", "vae", "width", "height", "video_frames",
                                                      "motion_bucket_id", "fps", "augmentation_level"])
        #expect(f.registry["SVD_img2vid_Conditioning"]!.schema.outputs.map(\.name) == ["positive", "negative", "latent"])
        #expect(names("VideoLinearCFGGuidance") == ["model", "min_cfg"])
        #expect(names("ConditioningSetArea") == ["conditioning", "width", "height", "x", "y", "strength"])
        #expect(names("ConditioningSetMask") == ["conditioning", "mask", "strength", "set_cond_area"])
        #expect(names("ConditioningAverage") == ["conditioning_to", "conditioning_from", "conditioning_to_strength"])
        #expect(names("ConditioningSetTimestepRange") == ["conditioning", "start", "end"])
        #expect(f.registry["ConditioningSetArea"]!.schema.displayName == "Conditioning (Set Area)")
        #expect(f.registry["ConditioningZeroOut"]!.schema.category == "advanced/conditioning")
        #expect(names("CLIPVisionEncode") == ["clip_vision", "image", "crop"])
        #expect(names("EmptyImage") == ["width", "height", "batch_size", "color"])
        #expect(names("ImageScale") == ["image", "upscale_method", "width", "height", "crop"])
        #expect(names("ImageCrop") == ["image", "width", "height", "x", "y"])
        #expect(names("SaveImage") == ["images", "filename_prefix"])
        #expect(f.registry["SaveImage"]!.schema.isOutputNode && f.registry["PreviewImage"]!.schema.isOutputNode)
        #expect(f.registry["SaveImage"]!.schema.hidden == [.prompt, .extraPNGInfo])
        #expect(f.registry["ImageScale"]!.schema.displayName == "Upscale Image")
        #expect(f.registry["ImageScale"]!.schema.category == "image/upscaling")
        #expect(f.registry["ImageCrop"]!.schema.category == "image/transform")
        let load = f.registry["LoadImage"]!.schema.required[0]
        #expect(load.extra["image_upload"] == .bool(true))
        if case .combo(let options) = f.registry["ImageScale"]!.schema.required[1].kind {
            #expect(options.values() == ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"])
        } else { Issue.record("upscale_method is not a combo") }
    }
}

@Suite struct GeneratorNodeTests {
    @Test func emptyImageFillsColor() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let r = try f.run("EmptyImage", ["width": .int(3), "height": .int(2), "batch_size": .int(2), "color": .int(0xFF8000)])
        let t = f.tensor(r)
        #expect(t.shape == [2, 2, 3, 3])
        #expect(Array(t.scalars.prefix(3)) == [1, Float(128.0 / 255.0), 0])
        #expect(t.imagePixels(batch: 1).prefix(3) == [255, 128, 0])
    }

    @Test func absurdSizesAreRefused() {
        let f = NodeFixture(maxPixels: 1000); defer { f.dir.cleanup() }
        #expect(throws: NodeError.self) {
            try f.run("EmptyImage", ["width": .int(100), "height": .int(10), "batch_size": .int(2), "color": .int(0)])
        }
        #expect(throws: NodeError.self) {
            try f.run("ImageScale", ["image": .tensor(Tensor(repeating: 0, shape: [1, 2, 2, 3])), "upscale_method": .string("bilinear"),
                                     "width": .int(100), "height": .int(100), "crop": .string("disabled")])
        }
    }
}

@Suite struct TransformNodeTests {
    static let image = Tensor(shape: [1, 2, 4, 3], scalars: (0..<24).map { Float($0) / 24 })

    @Test func invert() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let t = f.tensor(try f.run("ImageInvert", ["image": .tensor(Self.image)]))
        #expect(t.scalars == Self.image.scalars.map { 1 - $0 })
    }

    @Test func cropClampsLikeComfyUI() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let inner = f.tensor(try f.run("ImageCrop", ["image": .tensor(Self.image), "width": .int(2), "height": .int(1),
                                                     "x": .int(1), "y": .int(1)]))
        #expect(inner.shape == [1, 1, 2, 3])
        #expect(inner.scalars == Array(Self.image.scalars[15..<21]))
        let clamped = f.tensor(try f.run("ImageCrop", ["image": .tensor(Self.image), "width": .int(512), "height": .int(512),
                                                       "x": .int(99), "y": .int(99)]))
        #expect(clamped.shape == [1, 1, 1, 3]) // x -> 3, y -> 1
        #expect(clamped.scalars == Array(Self.image.scalars[21..<24]))
    }

    @Test func scaleKeepsAspectWhenOneSideIsZero() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        func scale(_ w: Int, _ h: Int, _ method: String = "bilinear") throws -> Tensor {
            f.tensor(try f.run("ImageScale", ["image": .tensor(Self.image), "upscale_method": .string(method),
                                              "width": .int(Int64(w)), "height": .int(Int64(h)), "crop": .string("disabled")]))
        }
        #expect(try scale(0, 4).shape == [1, 4, 8, 3])
        #expect(try scale(2, 0).shape == [1, 1, 2, 3])
        #expect(try scale(0, 0) == Self.image)
        #expect(try scale(5, 3, "lanczos").shape == [1, 3, 5, 3])
        #expect(try scale(4, 2, "nearest-exact") == Self.image)
    }

    @Test func batchResizesSecondImage() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let small = Tensor(repeating: 0.5, shape: [2, 1, 2, 3])
        let t = f.tensor(try f.run("ImageBatch", ["image1": .tensor(Self.image), "image2": .tensor(small)]))
        #expect(t.shape == [3, 2, 4, 3])
        #expect(t.slice(batch: 0..<1) == Self.image)
        #expect(t.slice(batch: 1..<3).scalars.allSatisfy { $0 == 0.5 })
    }
}

@Suite struct SaveLoadNodeTests {
    static let prompt: JSONValue = ["9": ["class_type": "SaveImage", "inputs": ["filename_prefix": "ComfyUI ✓"]]]
    static let extra: JSONValue = ["workflow": ["nodes": [], "version": 0.4]]

    @Test func saveImageWritesPNGWithMetadata() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        f.dir.write("output/ComfyUI_00003_.png", [0])
        let images = Tensor(shape: [2, 1, 2, 3], scalars: [0, 0.5, 1, 1.2, -1, 0.25, 1, 1, 1, 0, 0, 0])
        let r = try f.run("SaveImage", ["images": .tensor(images), "filename_prefix": .string("ComfyUI")],
                          prompt: Self.prompt, extra: Self.extra)
        #expect(r.outputs.isEmpty)
        let entries = try #require(r.ui?["images"]?.arrayValue)
        #expect(entries.count == 2)
        #expect(entries[0] == ["filename": "ComfyUI_00004_.png", "subfolder": "", "type": "output"])
        #expect(entries[1]["filename"] == "ComfyUI_00005_.png")
        let bytes = [UInt8](FileManager.default.contents(atPath: f.env.directories.output + "/ComfyUI_00004_.png")!)
        #expect(contains(bytes, Array("tEXtprompt\u{0}".utf8)))
        let file = try decodeImageFile(bytes)
        #expect(file.frames[0].pixels == [0, 127, 255, 255, 255, 0, 63, 255])
        let chunks = Dictionary(uniqueKeysWithValues: file.textChunks.map { ($0.key, $0.value) })
        #expect(chunks["prompt"] == #"{"9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI \u2713"}}}"#)
        #expect(try JSONValue.parse(chunks["prompt"]!) == Self.prompt)
        #expect(try JSONValue.parse(chunks["workflow"]!) == Self.extra["workflow"])
    }

    @Test func saveImageSubfolderAndEscape() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let img = Tensor(repeating: 0.2, shape: [1, 2, 2, 3])
        let r = try f.run("SaveImage", ["images": .tensor(img), "filename_prefix": .string("run/%width%x%height%")])
        #expect(r.ui?["images"]?.arrayValue?.first == ["filename": "2x2_00001_.png", "subfolder": "run", "type": "output"])
        #expect(throws: NodeError.self) {
            try f.run("SaveImage", ["images": .tensor(img), "filename_prefix": .string("../escape")])
        }
    }

    @Test func disableMetadataWritesNoText() throws {
        let f = NodeFixture(disableMetadata: true); defer { f.dir.cleanup() }
        _ = try f.run("SaveImage", ["images": .tensor(Tensor(repeating: 0, shape: [1, 1, 1, 3])), "filename_prefix": .string("m")],
                      prompt: Self.prompt, extra: Self.extra)
        let bytes = [UInt8](FileManager.default.contents(atPath: f.env.directories.output + "/m_00001_.png")!)
        #expect(try decodeImageFile(bytes).textChunks.isEmpty)
    }

    @Test func previewImageGoesToTemp() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let r = try f.run("PreviewImage", ["images": .tensor(Tensor(repeating: 1, shape: [1, 3, 3, 3]))], prompt: Self.prompt)
        let entry = try #require(r.ui?["images"]?.arrayValue?.first)
        #expect(entry["type"] == "temp" && entry["subfolder"] == "")
        let name = try #require(entry["filename"]?.stringValue)
        #expect(name.hasPrefix("ComfyUI_temp_") && name.hasSuffix("_00001_.png") && name.count == "ComfyUI_temp_abcde_00001_.png".count)
        #expect(FileManager.default.fileExists(atPath: f.env.directories.temp + "/" + name))
    }

    @Test func loadImageMaskIsOneMinusAlpha() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let rgba: [UInt8] = [255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 51, 10, 20, 30, 102]
        f.dir.write("input/a.png", try encodePNG(rgba, width: 2, height: 2, channels: 4))
        let r = try f.run("LoadImage", ["image": .string("a.png")])
        let image = f.tensor(r, 0), mask = f.tensor(r, 1)
        #expect(image.shape == [1, 2, 2, 3] && mask.shape == [1, 2, 2])
        #expect(image.imagePixels(batch: 0) == [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
        #expect(mask.scalars == [0, 1, 1 - Float(51) / 255, 1 - Float(102) / 255])
    }

    @Test func loadImageWithoutAlphaGives64x64ZeroMask() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        f.dir.write("input/rgb.jpg", try encodeJPEG([UInt8](repeating: 90, count: 8 * 4 * 3), width: 8, height: 4, channels: 3))
        let r = try f.run("LoadImage", ["image": .string("rgb.jpg")])
        #expect(f.tensor(r, 0).shape == [1, 4, 8, 3])
        #expect(f.tensor(r, 1) == Tensor(repeating: 0, shape: [1, 64, 64]))
    }

    @Test func loadImageSixteenBitAndAnimated() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let row: [UInt8] = [0xFF, 0xFF, 0x80, 0x00, 0x00, 0x01]
        f.dir.write("input/deep.png", PNGBuilder.png(width: 1, height: 1, bitDepth: 16, colorType: 2, rows: [row]))
        let deep = f.tensor(try f.run("LoadImage", ["image": .string("deep.png")]))
        #expect(deep.scalars == [1, Float(0x8000) / 65535, Float(1) / 65535])
        let frames: [[UInt8]] = (0..<3).map { i in [UInt8(i * 100), 0, 0, 255, 0, 0, 0, 0] }
        f.dir.write("input/anim.webp", try encodeAnimatedWEBP(frames: frames, width: 2, height: 1,
                                                             durationsMilliseconds: [40, 40, 40], lossless: true))
        let r = try f.run("LoadImage", ["image": .string("anim.webp")])
        #expect(f.tensor(r, 0).shape == [3, 1, 2, 3])
        #expect(f.tensor(r, 1).shape == [3, 1, 2])
        #expect(f.tensor(r, 1).scalars == [0, 1, 0, 1, 0, 1])
    }

    @Test func loadImageValidationFingerprintAndAnnotations() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let png = try encodePNG([1, 2, 3], width: 1, height: 1, channels: 3)
        f.dir.write("input/x.png", png)
        f.dir.write("input/sub/y.png", png)
        f.dir.write("output/o.png", png)
        f.dir.write("secret.png", png)
        let node = f.registry["LoadImage"]!
        #expect(node.validatedInputs == ["image"])
        #expect(node.validate!(["image": "x.png"]) == nil)
        #expect(node.validate!(["image": "sub/y.png"]) == nil)
        #expect(node.validate!(["image": "o.png [output]"]) == nil)
        #expect(node.validate!(["image": "missing.png"]) == ValidationFailure(inputName: "image", reason: "Invalid image file: missing.png"))
        #expect(node.validate!(["image": "../secret.png"]) != nil)
        f.dir.symlink("input/link.png", to: f.dir.path + "/secret.png")
        #expect(node.validate!(["image": "link.png"]) != nil)
        #expect(throws: NodeError.self) { try f.run("LoadImage", ["image": .string("link.png")]) }
        #expect(node.fingerprint!(["image": "x.png"]) == .string(SHA256.hex(png)))
        #expect(f.tensor(try f.run("LoadImage", ["image": .string("o.png [output]")])).shape == [1, 1, 1, 3])
        // COMBO choices list input/ images at the top level.
        if case .combo(let options) = node.schema.required[0].kind {
            #expect(options.values() == ["x.png"])
        }
    }

    @Test func loadImageRejectsCorruptFiles() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        f.dir.write("input/bad.png", PNGBuilder.signature + [1, 2, 3])
        f.dir.write("input/text.png", Array("hello".utf8))
        #expect(throws: NodeError.self) { try f.run("LoadImage", ["image": .string("bad.png")]) }
        #expect(throws: NodeError.self) { try f.run("LoadImage", ["image": .string("text.png")]) }
    }
}
