import Workflow

/// VideoHelperSuite's video formats (its `video_formats/*.json`): the per-format widgets the node
/// advertises in `/object_info` and the ffmpeg arguments each builds from the widget values.
struct VHSFormat: Sendable {
    /// The name after `video/` (`h264-mp4`).
    var name: String
    /// Widget declarations `[name, type-or-choices, options?, template?]` in VideoHelperSuite's order.
    var widgets: [JSONValue]
    /// The output file extension (`%03d.png` for image sequences).
    var fileExtension: String
    /// The transfer function claimed for the RGB input (`bt709` for video formats, else sRGB).
    var fakeTRC: String?
    /// The encoder's audio arguments when audio is muxed in.
    var audioPass: [String]?
    /// Builds the main-pass output arguments (after `-i -`).
    var mainPass: @Sendable (VHSWidgetValues) -> [String]
    /// Whether the raw frames are sent as 16-bit samples.
    var sixteenBitInput: @Sendable (VHSWidgetValues) -> Bool = { _ in false }
    /// Extra arguments from format-level widgets (bitrate).
    var extraArguments: @Sendable (VHSWidgetValues) -> [String] = { _ in [] }

    var hasSaveMetadataWidget: Bool { widgetNames.contains("save_metadata") }
    var hasTrimToAudioWidget: Bool { widgetNames.contains("trim_to_audio") }
    var widgetNames: [String] { widgets.compactMap { $0.arrayValue?.first?.stringValue } }
}

/// The widget values a Video Combine call received, falling back to each widget's default like
/// VideoHelperSuite's `apply_format_widgets`.
struct VHSWidgetValues: Sendable {
    var inputs: [String: NodeValue]
    var widgets: [JSONValue]
    var hasAlpha: Bool

    /// The value as Python's `str()` writes it (`True`, `19`, `yuv420p`).
    func text(_ name: String) -> String {
        switch inputs[name] {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .float(let d): return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)
        case .bool(let b): return b ? "True" : "False"
        default: return defaultText(name)
        }
    }

    func bool(_ name: String) -> Bool { text(name) != "False" }

    private func defaultText(_ name: String) -> String {
        guard let widget = widgets.first(where: { $0.arrayValue?.first?.stringValue == name })?.arrayValue else { return "" }
        if widget.count > 2, let options = widget[2].objectValue, let d = options["default"] {
            switch d {
            case .bool(let b): return b ? "True" : "False"
            case .string(let s): return s
            case .int(let i): return String(i)
            default: return d.jsonString()
            }
        }
        if widget.count > 1, let choices = widget[1].arrayValue, let first = choices.first?.stringValue { return first }
        switch widget.count > 1 ? widget[1].stringValue : nil {
        case "BOOLEAN": return "False"
        case "INT", "FLOAT": return "0"
        default: return ""
        }
    }
}

extension VHSFormat {
    private static func intWidget(_ name: String, _ def: Int64, _ min: Int64, _ max: Int64) -> JSONValue {
        [.string(name), "INT", .object(JSONObject([("default", .int(def)), ("min", .int(min)), ("max", .int(max)), ("step", 1)]))]
    }
    private static func boolWidget(_ name: String, _ def: Bool) -> JSONValue {
        [.string(name), "BOOLEAN", .object(JSONObject([("default", .bool(def))]))]
    }
    private static func choiceWidget(_ name: String, _ choices: [String], default def: String? = nil) -> JSONValue {
        var w: [JSONValue] = [.string(name), JSONValue(choices)]
        if let def { w.append(.object(JSONObject([("default", .string(def))]))) }
        return .array(w)
    }
    private static let bt709Output = ["-vf", "scale=out_color_matrix=bt709", "-color_range", "tv", "-colorspace", "bt709",
                                      "-color_primaries", "bt709", "-color_trc", "bt709"]
    private static let nvencWidgets: [JSONValue] = [
        intWidget("bitrate", 10, 1, 999), boolWidget("megabit", true), boolWidget("save_metadata", true),
    ]
    private static func nvenc(_ name: String, codec: String, tag: [String] = []) -> VHSFormat {
        VHSFormat(name: name, widgets: [choiceWidget("pix_fmt", ["yuv420p", "p010le"])] + nvencWidgets,
                  fileExtension: "mp4", fakeTRC: "bt709", audioPass: ["-c:a", "aac", "-movflags", "use_metadata_tags"],
                  mainPass: { v in ["-n", "-c:v", codec] + tag + ["-pix_fmt", v.text("pix_fmt")] + bt709Output },
                  extraArguments: { v in ["-b:v", v.text("bitrate") + (v.bool("megabit") ? "M" : "K")] })
    }

    static let ffv1PixelFormats = ["rgba64le", "bgra", "yuv420p", "yuv422p", "yuv444p", "yuva420p", "yuva422p", "yuva444p",
                                   "yuv420p10le", "yuv422p10le", "yuv444p10le", "yuv420p12le", "yuv422p12le", "yuv444p12le",
                                   "yuv420p14le", "yuv422p14le", "yuv444p14le", "yuv420p16le", "yuv422p16le", "yuv444p16le",
                                   "gray", "gray10le", "gray12le", "gray16le"]
    static let gifDithers = ["bayer", "heckbert", "floyd_steinberg", "sierra2", "sierra2_4a", "sierra3", "burkes", "atkinson", "none"]
    static let gifFilterTemplate = "[0:v] split [a][b]; [a] palettegen=reserve_transparent=on:transparency_color=ffffff [p]; [b][p] paletteuse=dither=$val"

    /// Every ffmpeg format, in the order VideoHelperSuite lists them (sorted file names; `gifski` is
    /// left out, as VideoHelperSuite does when the gifski program is not installed).
    static let all: [VHSFormat] = [
        VHSFormat(name: "16bit-png", widgets: [], fileExtension: "%03d.png", mainPass: { _ in ["-n", "-pix_fmt", "rgba64"] },
                  sixteenBitInput: { _ in true }),
        VHSFormat(name: "8bit-png", widgets: [], fileExtension: "%03d.png", mainPass: { _ in ["-n"] }),
        VHSFormat(name: "ProRes", widgets: [choiceWidget("profile", ["lt", "standard", "hq", "4444", "4444xq"], default: "hq")],
                  fileExtension: "mov", fakeTRC: "bt709", audioPass: ["-c:a", "pcm_s16le"],
                  mainPass: { v in
                      let profile = v.text("profile")
                      var args = ["-n", "-c:v", "prores_ks", "-profile:v", profile]
                      if ["4", "4444", "4444xq"].contains(profile) {
                          args += ["-pix_fmt", v.hasAlpha ? "yuva444p10le" : "yuv444p10le"]
                      }
                      return args + ["-vf", "scale=out_color_matrix=bt709", "-colorspace", "bt709", "-color_primaries", "bt709",
                                     "-color_trc", "bt709"]
                  }),
        VHSFormat(name: "av1-webm",
                  widgets: [choiceWidget("pix_fmt", ["yuv420p10le", "yuv420p"]), intWidget("crf", 23, 0, 100),
                            choiceWidget("input_color_depth", ["8bit", "16bit"]), boolWidget("save_metadata", true)],
                  fileExtension: "webm", fakeTRC: "bt709", audioPass: ["-c:a", "libopus"],
                  mainPass: { v in ["-n", "-c:v", "libsvtav1", "-pix_fmt", v.text("pix_fmt"), "-crf", v.text("crf")] + bt709Output },
                  sixteenBitInput: { v in v.text("input_color_depth") == "16bit" }),
        VHSFormat(name: "ffmpeg-gif",
                  widgets: [[.string("dither"), JSONValue(gifDithers), .object(JSONObject([("default", "sierra2_4a")])),
                             .string(gifFilterTemplate)]],
                  fileExtension: "gif",
                  mainPass: { v in ["-n", "-filter_complex", gifFilterTemplate.replacingOccurrences(of: "$val", with: v.text("dither"))] }),
        VHSFormat(name: "ffv1-mkv",
                  widgets: [choiceWidget("level", ["0", "1", "3"], default: "3"), choiceWidget("coder", ["0", "1", "2"], default: "1"),
                            choiceWidget("context", ["0", "1"], default: "1"), intWidget("gop_size", 1, 1, 300),
                            choiceWidget("slices", ["4", "6", "9", "12", "16", "20", "24", "30"], default: "16"),
                            choiceWidget("slicecrc", ["0", "1"], default: "1"),
                            choiceWidget("pix_fmt", ffv1PixelFormats, default: "rgba64le"),
                            boolWidget("save_metadata", true), boolWidget("trim_to_audio", false)],
                  fileExtension: "mkv", audioPass: ["-c:a", "flac"],
                  mainPass: { v in
                      ["-n", "-c:v", "ffv1", "-level", v.text("level"), "-coder", v.text("coder"), "-context", v.text("context"),
                       "-g", v.text("gop_size"), "-slices", v.text("slices"), "-slicecrc", v.text("slicecrc"),
                       "-pix_fmt", v.text("pix_fmt")]
                  },
                  sixteenBitInput: { _ in true }),
        VHSFormat(name: "h264-mp4",
                  widgets: [choiceWidget("pix_fmt", ["yuv420p", "yuv420p10le"]), intWidget("crf", 19, 0, 100),
                            boolWidget("save_metadata", true), boolWidget("trim_to_audio", false)],
                  fileExtension: "mp4", fakeTRC: "bt709", audioPass: ["-c:a", "aac", "-movflags", "use_metadata_tags"],
                  mainPass: { v in ["-n", "-c:v", "libx264", "-pix_fmt", v.text("pix_fmt"), "-crf", v.text("crf")] + bt709Output }),
        VHSFormat(name: "h265-mp4",
                  widgets: [choiceWidget("pix_fmt", ["yuv420p10le", "yuv420p"]), intWidget("crf", 22, 0, 100),
                            boolWidget("save_metadata", true)],
                  fileExtension: "mp4", fakeTRC: "bt709", audioPass: ["-c:a", "aac", "-movflags", "use_metadata_tags"],
                  mainPass: { v in
                      ["-n", "-c:v", "libx265", "-vtag", "hvc1", "-pix_fmt", v.text("pix_fmt"), "-crf", v.text("crf"),
                       "-preset", "medium", "-x265-params", "log-level=quiet"] + bt709Output
                  }),
        nvenc("nvenc_av1-mp4", codec: "av1_nvenc"),
        nvenc("nvenc_h264-mp4", codec: "h264_nvenc"),
        nvenc("nvenc_hevc-mp4", codec: "hevc_nvenc", tag: ["-vtag", "hvc1"]),
        VHSFormat(name: "webm",
                  widgets: [choiceWidget("pix_fmt", ["yuv420p", "yuva420p"]), intWidget("crf", 20, 0, 100),
                            boolWidget("save_metadata", true), boolWidget("trim_to_audio", false)],
                  fileExtension: "webm", fakeTRC: "bt709", audioPass: ["-c:a", "libvorbis"],
                  mainPass: { v in ["-n", "-pix_fmt", v.text("pix_fmt"), "-crf", v.text("crf"), "-b:v", "0"] + bt709Output }),
    ]

    static func named(_ name: String) -> VHSFormat? { all.first { $0.name == name } }

    /// The `format` combo's choices.
    static var formatChoices: [String] { ["image/gif", "image/webp"] + all.map { "video/" + $0.name } }

    /// The combo's `formats` option: widgets per format that has any, then `image/webp`'s.
    static var formatWidgets: JSONObject {
        var o = JSONObject()
        for f in all where !f.widgets.isEmpty { o["video/" + f.name] = .array(f.widgets) }
        o["image/webp"] = [["lossless", "BOOLEAN", .object(JSONObject([("default", true)]))]]
        return o
    }

    /// Joins repeated `-vf` (or `-af`) options into one comma-separated filter chain at the first
    /// one's place, as ffmpeg keeps only the last otherwise.
    static func mergeFilters(_ args: [String], option: String = "-vf") -> [String] {
        var out: [String] = []
        var filters: [String] = []
        var slot: Int?
        var i = 0
        while i < args.count {
            if args[i] == option, i + 1 < args.count {
                filters.append(args[i + 1])
                if slot == nil { slot = out.count; out += [option, ""] }
                i += 2
            } else {
                out.append(args[i])
                i += 1
            }
        }
        if let slot { out[slot + 1] = filters.joined(separator: ",") }
        return out
    }
}
