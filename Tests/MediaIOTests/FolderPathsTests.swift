import Foundation
import Testing
@testable import FolderPaths

@Suite struct SafePathTests {
    @Test func plainAndNestedPathsResolveInside() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        dir.write("a/b.png", [1])
        let real = try SafePath.resolve("", in: dir.path)
        #expect(try SafePath.resolve("a/b.png", in: dir.path) == real + "/a/b.png")
        #expect(try SafePath.resolve("./a//b.png", in: dir.path) == real + "/a/b.png")
        #expect(try SafePath.resolve("a/../a/b.png", in: dir.path) == real + "/a/b.png")
        // Not-yet-existing files resolve too (uploads, outputs).
        #expect(try SafePath.resolve("new/dir/file.png", in: dir.path) == real + "/new/dir/file.png")
    }

    @Test(arguments: ["..", "../x.png", "a/../../x.png", "/etc/passwd", "a/\u{0}b"])
    func traversalIsRefused(_ attempt: String) {
        let dir = TempDir(); defer { dir.cleanup() }
        #expect(throws: PathError.self) { try SafePath.resolve(attempt, in: dir.path) }
    }

    @Test func escapeCodeIsOutsideBase() {
        let dir = TempDir(); defer { dir.cleanup() }
        do {
            _ = try SafePath.resolve("../../etc/passwd", in: dir.path)
            Issue.record("expected a throw")
        } catch let error as PathError {
            #expect(error.code == .outsideBase)
        } catch { Issue.record("wrong error \(error)") }
    }

    @Test func symlinkPointingOutsideIsRefused() {
        let base = TempDir(), outside = TempDir()
        defer { base.cleanup(); outside.cleanup() }
        outside.write("secret.png", [1, 2, 3])
        base.symlink("link", to: outside.path)
        base.symlink("file.png", to: outside.path + "/secret.png")
        #expect(throws: PathError.self) { try SafePath.resolve("link/secret.png", in: base.path) }
        #expect(throws: PathError.self) { try SafePath.resolve("file.png", in: base.path) }
        #expect(throws: PathError.self) { try SafePath.resolve("link/new.png", in: base.path) }
    }

    @Test func symlinkInsideIsAllowed() throws {
        let base = TempDir(); defer { base.cleanup() }
        base.write("real/x.png", [1])
        base.symlink("alias", to: base.path + "/real")
        let resolved = try SafePath.resolve("alias/x.png", in: base.path)
        #expect(resolved == (try SafePath.resolve("real/x.png", in: base.path)))
    }

    @Test func danglingSymlinkIsRefused() {
        let base = TempDir(); defer { base.cleanup() }
        base.symlink("dangling.png", to: "/nonexistent-loom-target/x.png")
        #expect(throws: PathError.self) { try SafePath.resolve("dangling.png", in: base.path) }
    }

    @Test func safeComponents() {
        #expect(SafePath.isSafeComponent("x.png"))
        #expect(SafePath.isSafeComponent("my image (1).png"))
        for bad in ["", ".", "..", "a/b", "a\u{0}"] { #expect(!SafePath.isSafeComponent(bad)) }
    }
}

@Suite struct OutputPathTests {
    @Test func counterFollowsHighestExisting() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        dir.write("ComfyUI_00001_.png", [0])
        dir.write("ComfyUI_00003_.png", [0])
        dir.write("ComfyUI_temp_abcde_00009_.png", [0]) // another stem
        dir.write("Other_00042_.png", [0])
        let plan = try OutputPath.next(prefix: "ComfyUI", in: dir.path, width: 64, height: 32)
        #expect(plan.counter == 4)
        #expect(plan.subfolder == "")
        #expect(plan.filename == "ComfyUI")
        #expect(plan.fileName(counter: plan.counter) == "ComfyUI_00004_.png")
    }

    @Test func emptyFolderStartsAtOne() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let plan = try OutputPath.next(prefix: "x", in: dir.path, width: 1, height: 1)
        #expect(plan.counter == 1)
        #expect(plan.fileName(counter: 12, extension: "webp") == "x_00012_.webp")
    }

    @Test func subfolderPrefixIsSplitAndCreated() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        dir.write("video/ComfyUI_00007_.mp4", [0])
        let plan = try OutputPath.next(prefix: "video/ComfyUI", in: dir.path, width: 1, height: 1)
        #expect(plan.subfolder == "video")
        #expect(plan.counter == 8)
        let nested = try OutputPath.next(prefix: "a/b/name", in: dir.path, width: 1, height: 1)
        #expect(nested.subfolder == "a/b")
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: nested.folder, isDirectory: &isDir) && isDir.boolValue)
    }

    @Test func escapeIsRefused() {
        let dir = TempDir(); defer { dir.cleanup() }
        for prefix in ["../evil", "a/../../evil", "/tmp/evil"] {
            #expect(throws: PathError.self) { try OutputPath.next(prefix: prefix, in: dir.path, width: 1, height: 1) }
        }
    }

    @Test func variablesAreSubstituted() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var comps = DateComponents()
        (comps.year, comps.month, comps.day, comps.hour, comps.minute, comps.second) = (2024, 3, 7, 9, 5, 1)
        let date = Calendar.current.date(from: comps)!
        let plan = try OutputPath.next(prefix: "%year%-%month%-%day%/img_%width%x%height%_%hour%%minute%%second%",
                                       in: dir.path, width: 640, height: 480, date: date)
        #expect(plan.subfolder == "2024-03-07")
        #expect(plan.filename == "img_640x480_090501")
    }

    @Test func counterTokenRules() {
        #expect(OutputPath.counterValue("ComfyUI_00012_.png", stem: "ComfyUI") == 12)
        #expect(OutputPath.counterValue("ComfyUI_00012.png", stem: "ComfyUI") == 12)
        #expect(OutputPath.counterValue("ComfyUI_abc_.png", stem: "ComfyUI") == nil)
        #expect(OutputPath.counterValue("ComfyUIx_00012_.png", stem: "ComfyUI") == nil)
        #expect(OutputPath.counterValue("ComfyUI_temp_00012_.png", stem: "ComfyUI") == nil)
    }
}

@Suite struct DirectoryTests {
    @Test func defaultsAndTempChild() {
        let d = DataDirectories(base: "/srv/loom/")
        #expect(d.models == "/srv/loom/models")
        #expect(d.output == "/srv/loom/output")
        #expect(d.temp == "/srv/loom/temp")
        #expect(d.customNodes == "/srv/loom/custom_nodes")
        let custom = DataDirectories(base: "/srv/loom", output: "/data/out", temp: "/scratch")
        #expect(custom.temp == "/scratch/temp")
        #expect(custom.directory(for: .output) == "/data/out")
        #expect(custom.directory(for: .temp) == "/scratch/temp")
    }

    @Test func createLayoutWipesTemp() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let d = DataDirectories(base: dir.path)
        try d.createLayout()
        dir.write("temp/stale.png", [1])
        try d.createLayout()
        #expect(FileManager.default.fileExists(atPath: d.models + "/checkpoints"))
        #expect(FileManager.default.fileExists(atPath: d.models + "/unet"))
        #expect(FileManager.default.fileExists(atPath: d.customNodes))
        #expect(FileManager.default.fileExists(atPath: d.user))
        #expect(try FileManager.default.contentsOfDirectory(atPath: d.temp).isEmpty)
    }

    @Test func inputImagesListsTopLevelImagesSorted() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let d = DataDirectories(base: dir.path)
        try d.createLayout()
        dir.write("input/b.png", [0]); dir.write("input/A.JPG", [0]); dir.write("input/c.webp", [0])
        dir.write("input/notes.txt", [0]); dir.write("input/sub/deep.png", [0])
        #expect(d.inputImages() == ["A.JPG", "b.png", "c.webp"])
    }

    @Test func annotatedNames() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let d = DataDirectories(base: dir.path)
        try d.createLayout()
        dir.write("output/o.png", [0]); dir.write("input/sub/i.png", [0])
        #expect(FileKind.splitAnnotation("o.png [output]") == ("o.png", .output))
        #expect(d.annotatedFileExists("o.png [output]"))
        #expect(!d.annotatedFileExists("o.png"))
        #expect(d.annotatedFileExists("sub/i.png"))
        #expect(d.annotatedFileExists("sub/i.png [input]"))
        #expect(!d.annotatedFileExists("../output/o.png"))
    }
}

@Suite struct ModelFolderTests {
    @Test func keysFollowSpecOrderWithoutAliases() {
        let r = ModelFolderRegistry(directories: DataDirectories(base: "/x"))
        #expect(Array(r.keys.prefix(8)) == ["checkpoints", "configs", "loras", "vae", "vae_approx", "text_encoders",
                                            "diffusion_models", "clip_vision"])
        #expect(!r.keys.contains("clip") && !r.keys.contains("unet"))
        #expect(r.keys.contains("controlnet") && r.keys.last == "fonts")
        #expect(r.searchDirectories("clip") == ["/x/models/text_encoders", "/x/models/clip", "/x/output/clip"])
        #expect(r.searchDirectories("unet") == ["/x/models/unet", "/x/models/diffusion_models", "/x/output/diffusion_models"])
        #expect(r.searchDirectories("nope") == nil)
    }

    @Test func listingIsRecursiveFilteredSortedAndDeduplicated() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let d = DataDirectories(base: dir.path)
        try d.createLayout()
        dir.write("models/text_encoders/umt5.safetensors", [0])
        dir.write("models/text_encoders/wan/b.sft", [0])
        dir.write("models/text_encoders/readme.txt", [0])
        dir.write("models/text_encoders/.hidden.safetensors", [0])
        dir.write("models/text_encoders/.git/objects.bin", [0])
        dir.write("models/clip/umt5.safetensors", [0])          // duplicate name in the alias dir
        dir.write("models/clip/a.ckpt", [0])
        dir.write("output/clip/trained.pt", [0])
        let shared = TempDir(); defer { shared.cleanup() }
        shared.write("linked.pth", [0])
        dir.symlink("models/text_encoders/shared", to: shared.path)
        dir.symlink("models/text_encoders/loop", to: dir.path + "/models/text_encoders") // cycle
        let r = ModelFolderRegistry(directories: d)
        let files = r.files(in: "text_encoders")
        #expect(files == ["a.ckpt", "shared/linked.pth", "trained.pt", "umt5.safetensors", "wan/b.sft"])
        #expect(r.files(in: "clip") == files)
        #expect(r.files(in: "unknown") == nil)
        #expect(r.files(in: "diffusers") == [])
        #expect(r.fullPath("text_encoders", name: "wan/b.sft") == (try SafePath.resolve("models/text_encoders/wan/b.sft", in: dir.path)))
        #expect(r.fullPath("text_encoders", name: "../../input/x") == nil)
    }
}

@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func fileDigestMatchesBytes() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        dir.write("f.bin", bytes)
        #expect(try SHA256.hex(ofFile: dir.path + "/f.bin") == SHA256.hex(bytes))
    }
}
