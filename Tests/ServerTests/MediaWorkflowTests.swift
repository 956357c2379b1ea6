import Foundation
import MediaIO
import Testing
import Workflow

/// The media issue's end-to-end check through the HTTP API: an uploaded image becomes a frame batch that
/// is saved as an animated WEBP, an MP4 through Video Combine and an MP4 through SaveVideo, and `/view`
/// serves each file with the right content type.
@Suite(.serialized) struct MediaWorkflowTests {
    @Test func imageToAnimatedWEBPAndVideos() async throws {
        try await withServer { server in
            let uploaded = try TestImages.png(size: 32, seed: 3)
            _ = try await server.upload(filename: "frame.png", data: uploaded)
            let prompt: JSONValue = [
                "1": ["class_type": "LoadImage", "inputs": ["image": "frame.png"]],
                "2": ["class_type": "RepeatImageBatch", "inputs": ["image": ["1", 0], "amount": 6]],
                "3": ["class_type": "SaveAnimatedWEBP", "inputs": ["images": ["2", 0], "filename_prefix": "ComfyUI", "fps": 10,
                                                                   "lossless": false, "quality": 85, "method": "default"]],
                "4": ["class_type": "VHS_VideoCombine", "inputs": ["images": ["2", 0], "frame_rate": 10, "loop_count": 0,
                                                                   "filename_prefix": "clips/comfyUI", "format": "video/h264-mp4",
                                                                   "pix_fmt": "yuv420p", "crf": 20, "save_metadata": true,
                                                                   "pingpong": false, "save_output": true]],
                "5": ["class_type": "CreateVideo", "inputs": ["images": ["2", 0], "fps": 24]],
                "6": ["class_type": "SaveVideo", "inputs": ["video": ["5", 0], "filename_prefix": "video/ComfyUI",
                                                            "format": "auto", "codec": "auto"]],
            ]
            let id = try await server.submit(prompt, extra: ["extra_data": ["extra_pnginfo": ["workflow": ["nodes": []]]]])
            let entry = try await server.waitForHistory(id, timeout: .seconds(120))
            #expect(entry["status"]?["status_str"] == "success", "\(entry["status"]?.jsonString() ?? "")")
            let outputs = try #require(entry["outputs"])
            #expect(outputs["3"] == ["images": [["filename": "ComfyUI_00001_.webp", "subfolder": "", "type": "output"]],
                                     "animated": [true]])
            #expect(outputs["6"] == ["images": [["filename": "ComfyUI_00001_.mp4", "subfolder": "video", "type": "output"]],
                                     "animated": [true]])
            let gif = try #require(outputs["4"]?["gifs"]?[0])
            #expect(gif["filename"] == "comfyUI_00001.mp4" && gif["format"] == "video/h264-mp4" && gif["workflow"] == "comfyUI_00001.png")
            #expect(gif["subfolder"] == "clips" && gif["frame_rate"] == .double(10))
            #expect(gif["fullpath"]?.stringValue?.hasSuffix("/output/clips/comfyUI_00001.mp4") == true)

            for (query, type) in [("filename=ComfyUI_00001_.webp", "image/webp"),
                                  ("filename=comfyUI_00001.mp4&subfolder=clips&format=video/h264-mp4&frame_rate=10", "video/mp4"),
                                  ("filename=comfyUI_00001.png&subfolder=clips", "image/png"),
                                  ("filename=ComfyUI_00001_.mp4&subfolder=video", "video/mp4")] {
                let served = try await server.get("/view?" + query + "&type=output")
                #expect(served.status == .ok, "\(query)")
                #expect(served.headers[.contentType] == type, "\(query)")
                #expect(served.bytes.count > 100, "\(query)")
            }
            let webp = try await server.get("/view?filename=ComfyUI_00001_.webp&type=output")
            let frames = try decodeImageFile(webp.bytes).frames
            // Six identical frames: libwebp's animation encoder (Pillow's too) merges identical frames, and a
            // single remaining frame is written as a still WEBP.
            #expect(frames.count == 1 || frames.compactMap(\.durationMilliseconds).reduce(0, +) == 600)
            #expect(frames.first?.width == 32 && frames.first?.height == 32)
            // A fresh ffprobe of the served MP4: 6 H.264 frames of 32×32 at 10 fps.
            let mp4 = try await server.get("/view?filename=comfyUI_00001.mp4&subfolder=clips&type=output")
            let path = NSTemporaryDirectory() + "loom-media-\(UUID().uuidString).mp4"
            defer { try? FileManager.default.removeItem(atPath: path) }
            FileManager.default.createFile(atPath: path, contents: Data(mp4.bytes))
            let info = try probeVideo(tools: FFmpegTools.locate(), path: path, countFrames: true)
            #expect(info.codecName == "h264" && info.width == 32 && info.height == 32 && info.frameCount == 6)
            #expect(info.frameRate == 10)
        }
    }

    @Test func badMediaInputsAreExecutionErrorsAndTheServerCarriesOn() async throws {
        try await withServer { server in
            let prompt: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 16, "height": 16, "batch_size": 2, "color": 0]],
                "2": ["class_type": "VHS_VideoCombine", "inputs": ["images": ["1", 0], "frame_rate": 8, "loop_count": 0,
                                                                   "filename_prefix": "x", "format": "video/h264-mp4",
                                                                   "pix_fmt": "no_such_format", "pingpong": false, "save_output": true]],
            ]
            let id = try await server.submit(prompt)
            let entry = try await server.waitForHistory(id, timeout: .seconds(60))
            #expect(entry["status"]?["status_str"] == "error")
            let messages = entry["status"]?["messages"]?.arrayValue ?? []
            let error = messages.first { $0[0] == "execution_error" }
            #expect(error?[1]?["node_type"] == "VHS_VideoCombine")

            // An unknown format name fails validation with ComfyUI's value_not_in_list.
            let bad: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 16, "height": 16, "batch_size": 2, "color": 0]],
                "2": ["class_type": "VHS_VideoCombine", "inputs": ["images": ["1", 0], "frame_rate": 8, "loop_count": 0,
                                                                   "filename_prefix": "x", "format": "video/nope",
                                                                   "pingpong": false, "save_output": true]],
            ]
            let refused = try await server.post("/prompt", json: ["prompt": bad])
            #expect(refused.status == .badRequest)
            #expect(try refused.json()["node_errors"]?["2"]?["errors"]?[0]?["type"] == "value_not_in_list")
        }
    }
}

fileprivate extension JSONValue {
    subscript(index: Int) -> JSONValue? {
        guard let items = arrayValue, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
