import Foundation

/// Where an upload lands: an existing identical file is reused, a different one gets
/// `"<stem> (1)<ext>"`, `"<stem> (2)<ext>"`, … unless overwriting was asked for.
enum UploadNaming {
    /// Writes `data` at `target` (or a free variant of it) atomically.
    /// - Returns: the final file name.
    static func place(data: [UInt8], at target: inout String, overwrite: Bool) throws -> String {
        let folder = (target as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if !overwrite {
            let original = target
            let ext = (original as NSString).pathExtension
            let stem = ((original as NSString).lastPathComponent as NSString).deletingPathExtension
            var index = 1
            while FileManager.default.fileExists(atPath: target) {
                if let existing = FileManager.default.contents(atPath: target), [UInt8](existing) == data {
                    return (target as NSString).lastPathComponent
                }
                let name = ext.isEmpty ? "\(stem) (\(index))" : "\(stem) (\(index)).\(ext)"
                target = (folder as NSString).appendingPathComponent(name)
                index += 1
            }
        }
        try Data(data).write(to: URL(fileURLWithPath: target), options: .atomic)
        return (target as NSString).lastPathComponent
    }
}
