import Foundation

/// Copies the video and audio streams of `inputPath` into `outputPath` without re-encoding (ComfyUI's
/// `VideoFromFile.save_to` when the codec fits), keeping the source's container metadata and setting the
/// `metadata` entries over it. The output container follows `outputPath`'s extension; MP4/QuickTime outputs
/// keep custom keys (`use_metadata_tags`).
/// - Throws: ``MediaError``: `.invalidArgument` for an existing output or bad metadata, `.toolFailed` with
///   ffmpeg's message when the streams cannot be copied into that container (nothing is left behind).
public func remuxVideo(tools: FFmpegTools, inputPath: String, outputPath: String,
                       metadata: [(key: String, value: String)] = [], overwrite: Bool = false) throws {
    if !overwrite && FileManager.default.fileExists(atPath: outputPath) {
        throw MediaError(.invalidArgument, "Output \(outputPath) already exists")
    }
    let source = try probeVideo(tools: tools, path: inputPath)
    var merged: [(key: String, value: String)] = source.tags
        .filter { key, _ in !metadata.contains { $0.key.lowercased() == key.lowercased() } && !key.isEmpty }
        .sorted { $0.key < $1.key }
        .map { (key: $0.key, value: $0.value) }
        .filter { !$0.value.utf8.contains(0) && $0.value.utf8.last != UInt8(ascii: "\\") }
    merged += metadata
    var arguments = ["-hide_banner", "-nostdin", "-nostats", "-v", "error", overwrite ? "-y" : "-n",
                     "-i", fileURLArgument(inputPath)]
    var metadataFile: String?
    if !merged.isEmpty {
        let file = try writeFFMetadataFile(merged)
        metadataFile = file
        arguments += ["-f", "ffmetadata", "-i", fileURLArgument(file), "-map_metadata", "1"]
    }
    defer { if let metadataFile { try? FileManager.default.removeItem(atPath: metadataFile) } }
    arguments += ["-map", "0:v", "-map", "0:a?", "-c", "copy"]
    if isQuickTimeOutput(path: outputPath, arguments: []) {
        arguments = addingMovFlag("use_metadata_tags", to: arguments)
    }
    arguments.append(fileURLArgument(outputPath))
    let tool = try ToolProcess(executable: tools.ffmpeg, arguments: arguments, feedStdin: false, readStdout: false)
    let result = tool.wait()
    if let error = ToolProcess.failure(name: tool.name, action: "copying \(inputPath) to \(outputPath)", result) {
        if !error.message.contains("already exists") { try? FileManager.default.removeItem(atPath: outputPath) }
        throw error
    }
}
