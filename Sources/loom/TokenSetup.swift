import Foundation
import Logging

/// Decides which API token protects the server.
enum TokenSetup {
    static let fileName = "auth_token"

    /// `--token`, else `LOOM_TOKEN`, else the token file in the data directory. Listening beyond
    /// loopback with none of these generates a token, stores it (mode 0600) and prints it once;
    /// `--no-auth` turns authentication off explicitly.
    static func resolve(flag: String?, noAuth: Bool, host: String, directory: String, logger: Logger) throws -> String? {
        if noAuth {
            if !isLoopback(host) { logger.warning("Authentication is off (--no-auth) on a non-loopback address \(host)") }
            return nil
        }
        if let flag, !flag.isEmpty { return flag }
        if let env = ProcessInfo.processInfo.environment["LOOM_TOKEN"], !env.isEmpty { return env }
        let path = (directory as NSString).appendingPathComponent(fileName)
        if let stored = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           !stored.isEmpty {
            return stored
        }
        guard !isLoopback(host) else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = generator.next() }
        let token = bytes.map { String(format: "%02x", $0) }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        say("Generated an API token (stored in \(path), mode 0600). Send it as 'Authorization: Bearer <token>':")
        say(token)
        return token
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
