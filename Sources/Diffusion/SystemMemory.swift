import Foundation

/// The machine's RAM as the kernel reports it (`/proc/meminfo`).
public enum SystemMemory {
    /// Total and available RAM in bytes (zeros when `/proc/meminfo` cannot be read).
    public static func info() -> (total: Int64, available: Int64) {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return (0, 0) }
        var total: Int64 = 0, available: Int64 = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kb = Int64(parts[1]) else { continue }
            if parts[0] == "MemTotal:" { total = kb * 1024 }
            if parts[0] == "MemAvailable:" { available = kb * 1024 }
        }
        return (total, available)
    }
}
