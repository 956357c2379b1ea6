import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Workflow

/// `loom bench api`: submit latency and throughput of any ComfyUI-compatible server for a trivial
/// workflow (EmptyImage → PreviewImage), with N concurrent clients.
struct BenchAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Submit latency and jobs/s of a ComfyUI-compatible server.")

    @Option(help: "Server URL, e.g. http://127.0.0.1:8188") var url: String
    @Option(help: "API token, sent as 'Authorization: Bearer <token>'.") var token: String?
    @Option(help: "Concurrent clients.") var clients = 8
    @Option(help: "Jobs in total.") var jobs = 400
    @Option(help: "Image edge in pixels.") var size = 64
    @Option(help: "Give up waiting for completion after this many seconds.") var timeout: Double = 300

    func run() async throws {
        guard let base = URL(string: url) else { throw ValidationError("invalid --url") }
        let client = BenchClient(base: base, token: token)
        let perClient = (jobs + clients - 1) / clients
        let start = Date()
        let results = try await withThrowingTaskGroup(of: [(id: String, latency: Double)].self) { group in
            for c in 0..<clients {
                group.addTask {
                    var out: [(String, Double)] = []
                    for j in 0..<perClient where c * perClient + j < jobs {
                        let n = c * perClient + j
                        let t0 = Date()
                        let id = try await client.submit(BenchWorkflow.prompt(index: n, size: size))
                        out.append((id, Date().timeIntervalSince(t0)))
                    }
                    return out
                }
            }
            var all: [(id: String, latency: Double)] = []
            for try await part in group { all += part }
            return all
        }
        let submitted = Date()
        while try await client.queueRemaining() > 0 {
            if Date().timeIntervalSince(start) > timeout { throw ValidationError("timed out waiting for the queue to drain") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let finished = Date()
        var succeeded = 0
        for r in results where try await client.succeeded(r.id) { succeeded += 1 }
        let latencies = results.map(\.latency).sorted()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)] * 1000
        }
        let elapsed = finished.timeIntervalSince(start)
        print("server: \(url)")
        print("clients: \(clients), jobs: \(results.count), succeeded: \(succeeded)")
        print(String(format: "submit latency ms: p50 %.2f  p99 %.2f  max %.2f", percentile(0.5), percentile(0.99), (latencies.last ?? 0) * 1000))
        print(String(format: "submit phase: %.2f s (%.1f submits/s)", submitted.timeIntervalSince(start),
                     Double(results.count) / submitted.timeIntervalSince(start)))
        print(String(format: "completed: %d jobs in %.2f s = %.1f jobs/s", succeeded, elapsed, Double(succeeded) / elapsed))
    }
}

/// The benchmark's workflow; the colour changes per job so no result comes from the cache.
enum BenchWorkflow {
    static func prompt(index: Int, size: Int) -> JSONValue {
        [
            "1": ["class_type": "EmptyImage", "inputs": [
                "width": .int(Int64(size)), "height": .int(Int64(size)), "batch_size": 1, "color": .int(Int64(index % 0xFFFFFF)),
            ]],
            "2": ["class_type": "PreviewImage", "inputs": ["images": ["1", 0]]],
        ]
    }
}

/// Minimal HTTP client for the benchmark.
struct BenchClient: Sendable {
    let base: URL
    let token: String?

    private func request(_ path: String, method: String = "GET", body: JSONValue? = nil) async throws -> JSONValue {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.serialized())
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
            throw ValidationError("\(method) \(path) failed: \((response as? HTTPURLResponse)?.statusCode ?? 0) \(String(decoding: data, as: UTF8.self))")
        }
        return try JSONValue.parse([UInt8](data))
    }

    func submit(_ prompt: JSONValue) async throws -> String {
        let answer = try await request("prompt", method: "POST", body: ["prompt": prompt])
        guard let id = answer["prompt_id"]?.stringValue else { throw ValidationError("no prompt_id in \(answer.jsonString())") }
        return id
    }

    func queueRemaining() async throws -> Int {
        Int(try await request("prompt")["exec_info"]?["queue_remaining"]?.int64Value ?? 0)
    }

    func succeeded(_ id: String) async throws -> Bool {
        try await request("history/\(id)")[id]?["status"]?["status_str"]?.stringValue == "success"
    }
}
