import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Workflow

/// A response: status, headers and body.
struct HTTPResult: Sendable {
    let status: Int
    let headers: [String: String]
    let body: Data

    /// The body as JSON.
    func json() throws -> JSONValue { try JSONValue.parse([UInt8](body)) }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A small real HTTP client for a running server (URLSession, a fresh ephemeral session per client).
struct LoomClient: Sendable {
    let base: URL
    var token: String?
    /// Sent verbatim as the `Authorization` header when set (overrides `token`).
    var authorization: String?
    private let session: URLSession

    init(base: URL, token: String? = nil, authorization: String? = nil) {
        self.base = base
        self.token = token
        self.authorization = authorization
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 15
        session = URLSession(configuration: configuration)
    }

    func request(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> HTTPResult {
        guard let url = URL(string: path, relativeTo: base) else { throw HarnessError("bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 15
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        else if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = body
            if headers["Content-Type"] == nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        }
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw HarnessError("\(method) \(path): not an HTTP response") }
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { fields[key.lowercased()] = value }
        }
        return HTTPResult(status: http.statusCode, headers: fields, body: data)
    }

    func get(_ path: String) async throws -> HTTPResult { try await request("GET", path) }

    func post(_ path: String, json: JSONValue) async throws -> HTTPResult {
        try await request("POST", path, body: Data(json.serialized()))
    }

    /// GET that must answer 200 with JSON.
    func getJSON(_ path: String) async throws -> JSONValue {
        let result = try await get(path)
        guard result.status == 200 else { throw HarnessError("GET \(path) answered \(result.status): \(result.text)") }
        return try result.json()
    }

    /// `POST /prompt`; returns the prompt id.
    @discardableResult
    func submit(_ prompt: JSONValue, promptID: String? = nil) async throws -> String {
        var body: JSONObject = ["prompt": prompt]
        if let promptID { body["prompt_id"] = .string(promptID) }
        let result = try await post("/prompt", json: .object(body))
        guard result.status == 200, let id = try result.json()["prompt_id"]?.stringValue else {
            throw HarnessError("POST /prompt answered \(result.status): \(result.text)")
        }
        return id
    }

    /// `GET /api/jobs?status=…` → the jobs in the server's order.
    func jobs(status: String? = nil) async throws -> [JSONValue] {
        let query = status.map { "?status=\($0)" } ?? ""
        return try await getJSON("/api/jobs\(query)")["jobs"]?.arrayValue ?? []
    }

    /// `GET /api/jobs/{id}`, or nil when 404.
    func job(_ id: String) async throws -> JSONValue? {
        let result = try await get("/api/jobs/\(id)")
        if result.status == 404 { return nil }
        guard result.status == 200 else { throw HarnessError("GET /api/jobs/\(id) answered \(result.status): \(result.text)") }
        return try result.json()
    }

    /// The id of the job now running, if any.
    func runningJobID() async throws -> String? {
        try await jobs(status: "in_progress").first?["id"]?.stringValue
    }

    /// Waits until the job has finished (any final state) and returns its detailed record.
    @discardableResult
    func waitForFinished(_ id: String, timeout: Duration = .seconds(60)) async throws -> JSONValue {
        try await eventually("job \(id) to finish", timeout: timeout) {
            guard let job = try await job(id), let status = job["status"]?.stringValue,
                  ["completed", "failed", "cancelled"].contains(status) else { return nil }
            return job
        }
    }
}

/// Workflows whose jobs are told apart by their output prefix and image size.
enum Workflows {
    /// EmptyImage (width×height, colour) → SaveImage(prefix): fast.
    static func quick(prefix: String, width: Int, height: Int, color: Int) -> JSONValue {
        [
            "1": ["class_type": "EmptyImage", "inputs": [
                "width": .int(Int64(width)), "height": .int(Int64(height)), "batch_size": 1, "color": .int(Int64(color)),
            ]],
            "2": ["class_type": "SaveImage", "inputs": ["images": ["1", 0], "filename_prefix": .string(prefix)]],
        ]
    }

    /// EmptyImage (edge×edge) → `inverts` × ImageInvert → ImageScale(width×height) → SaveImage(prefix).
    /// The invert chain makes the job slow (about 0.1 s per invert of a 1024² image in a debug build);
    /// the small final image keeps the save, the last step, short.
    static func slow(prefix: String, width: Int, height: Int, color: Int, edge: Int = 1024, inverts: Int = 24) -> JSONValue {
        var nodes: JSONObject = [
            "1": ["class_type": "EmptyImage", "inputs": [
                "width": .int(Int64(edge)), "height": .int(Int64(edge)), "batch_size": 1, "color": .int(Int64(color)),
            ]],
        ]
        var last = "1"
        for i in 0..<inverts {
            let id = "\(100 + i)"
            nodes[id] = ["class_type": "ImageInvert", "inputs": ["image": [.string(last), 0]]]
            last = id
        }
        nodes["3"] = ["class_type": "ImageScale", "inputs": [
            "image": [.string(last), 0], "upscale_method": "nearest-exact", "width": .int(Int64(width)),
            "height": .int(Int64(height)), "crop": "disabled",
        ]]
        nodes["2"] = ["class_type": "SaveImage", "inputs": ["images": ["3", 0], "filename_prefix": .string(prefix)]]
        return .object(nodes)
    }
}

/// Checks a PNG file structurally: signature, every chunk's CRC, IHDR first and IEND last.
enum PNGCheck {
    struct Info: Equatable { var width: Int; var height: Int }

    /// - Returns: the image size.
    /// - Throws: when the file is not a complete, intact PNG.
    static func validate(_ path: String) throws -> Info {
        guard let data = FileManager.default.contents(atPath: path) else { throw HarnessError("cannot read \(path)") }
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw HarnessError("\(path) is not a PNG")
        }
        func u32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        var offset = 8
        var info: Info?
        var sawIEND = false
        while offset < bytes.count {
            guard !sawIEND else { throw HarnessError("\(path): data after IEND") }
            guard offset + 12 <= bytes.count else { throw HarnessError("\(path): truncated chunk header at \(offset)") }
            let length = u32(offset)
            guard offset + 12 + length <= bytes.count else { throw HarnessError("\(path): truncated chunk at \(offset)") }
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let crc = crc32(bytes[(offset + 4)..<(offset + 8 + length)])
            guard crc == UInt32(u32(offset + 8 + length)) else { throw HarnessError("\(path): bad CRC in \(type) chunk") }
            if offset == 8 {
                guard type == "IHDR", length == 13 else { throw HarnessError("\(path): first chunk is \(type), not IHDR") }
                info = Info(width: u32(offset + 8), height: u32(offset + 12))
            }
            if type == "IEND" { sawIEND = true }
            offset += 12 + length
        }
        guard sawIEND, let info else { throw HarnessError("\(path): no IEND chunk") }
        return info
    }

    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

/// Visible files of a directory (not hidden; `Data.write(options: .atomic)` leaves hidden temporaries
/// behind when killed mid-write), sorted.
func visibleFiles(in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
}
