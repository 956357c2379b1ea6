import Foundation
import Testing

extension EndToEndTests {
    /// `loom bench api` against a running Loom.
    @Suite struct BenchAPI {
        @Test("loom bench api reports submit latency and throughput, and every job succeeds")
        func benchAPI() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let server = try await LoomProcess.start(dataDirectory: scratch.appending("data"), extraArguments: ["--token", "bench-token"],
                                                     logDirectory: scratch.path)
            defer { server.kill() }
            let result = try await runLoom(["bench", "api", "--url", "http://127.0.0.1:\(server.port)", "--token", "bench-token",
                                            "--clients", "4", "--jobs", "40"])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            let out = result.stdout
            #expect(out.contains("server: http://127.0.0.1:\(server.port)"))
            #expect(out.contains("clients: 4, jobs: 40, succeeded: 40"), "\(out)")
            #expect(out.contains(/submit latency ms: p50 \d+\.\d+  p99 \d+\.\d+  max \d+\.\d+/), "\(out)")
            #expect(out.contains(/completed: 40 jobs in \d+\.\d+ s = \d+\.\d+ jobs\/s/), "\(out)")

            let jobs = try await server.client(token: "bench-token").getJSON("/api/jobs?status=completed")
            #expect(jobs["pagination"]?["total"]?.int64Value == 40)
            #expect(try await server.terminate() == 0)
        }

        @Test("loom bench api fails clearly without the token")
        func benchWithoutToken() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let server = try await LoomProcess.start(dataDirectory: scratch.appending("data"), extraArguments: ["--token", "t"],
                                                     logDirectory: scratch.path)
            defer { server.kill() }
            let result = try await runLoom(["bench", "api", "--url", "http://127.0.0.1:\(server.port)", "--clients", "1", "--jobs", "1"])
            #expect(result.status != 0)
            #expect((result.stdout + result.stderr).contains("401"), "\(result.stdout)\(result.stderr)")
            #expect(try await server.terminate() == 0)
        }
    }
}
