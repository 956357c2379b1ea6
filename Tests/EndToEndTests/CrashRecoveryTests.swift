import Foundation
import Synchronization
import Testing
import Workflow

extension EndToEndTests {
    /// The issue's acceptance test: `kill -9` mid-run, restart, every job accounted for.
    @Suite struct CrashRecovery {
        /// Runs one slow job and returns an invert count that makes a slow job last about `target`,
        /// so a kill a few milliseconds after the job is seen running lands while it computes,
        /// whatever the build configuration or machine.
        static func calibrate(_ client: LoomClient, target: Double = 3.0) async throws -> (id: String, inverts: Int) {
            let probe = 8
            let id = try await client.submit(Workflows.slow(prefix: "calibrate", width: 20, height: 20, color: 0x010203, inverts: probe))
            let job = try await client.waitForFinished(id)
            #expect(job["status"]?.stringValue == "completed")
            let ms = Double((job["execution_end_time"]?.int64Value ?? 0) - (job["execution_start_time"]?.int64Value ?? 0))
            let perInvert = max(ms / Double(probe), 1)
            return (id, min(max(Int((target * 1000 / perInvert).rounded(.up)), probe), 400))
        }

        static func history(_ client: LoomClient, _ id: String) async throws -> JSONValue? {
            try await client.getJSON("/history/\(id)")[id]
        }

        @Test("kill -9 mid-run: pending jobs run in order, the running job reruns once, history and outputs intact")
        func killMidRun() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data")
            let output = data + "/output"

            let first = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            defer { first.kill() }
            let client1 = first.client()
            let (calibrationID, inverts) = try await Self.calibrate(client1)

            // a: quick, finishes before the crash; b: slow, running at the crash; c, d, e: pending.
            struct Spec { var name: String; var width: Int; var height: Int; var slow: Bool }
            let specs = [
                Spec(name: "a", width: 40, height: 30, slow: false), Spec(name: "b", width: 72, height: 48, slow: true),
                Spec(name: "c", width: 50, height: 20, slow: false), Spec(name: "d", width: 60, height: 10, slow: false),
                Spec(name: "e", width: 33, height: 77, slow: false),
            ]
            var ids: [String] = []
            for (i, spec) in specs.enumerated() {
                let color = 0x102030 * (i + 1) % 0xFFFFFF
                let prompt = spec.slow
                    ? Workflows.slow(prefix: "crash_\(spec.name)", width: spec.width, height: spec.height, color: color, inverts: inverts)
                    : Workflows.quick(prefix: "crash_\(spec.name)", width: spec.width, height: spec.height, color: color)
                ids.append(try await client1.submit(prompt))
            }
            let (a, b) = (ids[0], ids[1])

            try await eventually("job b to be running") { try await client1.runningJobID() == b ? true : nil }
            let historyOfA = try #require(try await Self.history(client1, a))
            let historyOfCalibration = try #require(try await Self.history(client1, calibrationID))
            let pendingBeforeCrash = try await client1.jobs(status: "pending").compactMap { $0["id"]?.stringValue }
            #expect(Set(pendingBeforeCrash) == Set(ids[2...]), "c, d, e are queued at the crash")
            #expect(try await client1.runningJobID() == b, "b is still running when killed (it should take about 3 s)")
            first.kill()
            let killedAt = nowMillis()

            let fileOfA = output + "/crash_a_00001_.png"
            let bytesOfA = try #require(FileManager.default.contents(atPath: fileOfA), "a's output was written before the crash")
            #expect(!visibleFiles(in: output).contains { $0.hasPrefix("crash_b") }, "b had not saved yet when killed")

            let restartedAt = nowMillis()
            let second = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            defer { second.kill() }
            let client2 = second.client()
            for id in ids { try await client2.waitForFinished(id) }
            #expect(second.stderr.contains("Re-queued 1 job(s)"), "\(second.logs)")

            // Every job is accounted for exactly once and completed.
            let all = try await client2.jobs()
            #expect(all.count == ids.count + 1, "no job lost or duplicated: \(all.compactMap { $0["id"]?.stringValue })")
            #expect(Set(all.compactMap { $0["id"]?.stringValue }) == Set(ids + [calibrationID]))
            for job in all { #expect(job["status"]?.stringValue == "completed", "\(job.jsonString())") }
            let queue = try await client2.getJSON("/queue")
            #expect(queue["queue_running"]?.arrayValue?.isEmpty == true && queue["queue_pending"]?.arrayValue?.isEmpty == true)

            // Order: a before the crash; then b (re-queued, its original place), c, d, e after the restart.
            var starts: [String: Int64] = [:]
            for id in ids {
                let job = try #require(try await client2.job(id))
                starts[id] = job["execution_start_time"]?.int64Value ?? -1
            }
            #expect(ids.sorted { starts[$0]! < starts[$1]! } == ids, "jobs ran in submission order")
            #expect(starts[a]! < killedAt)
            for id in ids.dropFirst() { #expect(starts[id]! >= restartedAt, "\(id) ran after the restart") }
            let historyOrder = try await client2.getJSON("/history").objectValue?.keys ?? []
            #expect(historyOrder == [calibrationID] + ids, "history lists the jobs in the order they finished")

            // History and outputs from before the crash are intact.
            #expect(try await Self.history(client2, a) == historyOfA)
            #expect(try await Self.history(client2, calibrationID) == historyOfCalibration)
            #expect(FileManager.default.contents(atPath: fileOfA) == bytesOfA)

            // One intact PNG per job, with that job's size; b's history points at its file.
            let expected = Set(specs.map { "crash_\($0.name)_00001_.png" } + ["calibrate_00001_.png"])
            #expect(Set(visibleFiles(in: output)) == expected)
            for spec in specs {
                let info = try PNGCheck.validate(output + "/crash_\(spec.name)_00001_.png")
                #expect(info == PNGCheck.Info(width: spec.width, height: spec.height), "\(spec.name)")
            }
            let historyOfB = try #require(try await Self.history(client2, b))
            #expect(historyOfB["outputs"]?["2"]?["images"]?.arrayValue?.first?["filename"]?.stringValue == "crash_b_00001_.png")
            #expect(historyOfB["status"]?["status_str"]?.stringValue == "success")
            try await second.terminate()
        }

        @Test("a job running during two consecutive kill -9 ends failed with a message; the queue goes on")
        func repeatedCrashFailsTheJob() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data")

            let first = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            defer { first.kill() }
            let client1 = first.client()
            let (_, inverts) = try await Self.calibrate(client1)
            let x = try await client1.submit(Workflows.slow(prefix: "poison", width: 24, height: 24, color: 0x00FF00, inverts: inverts))
            let y = try await client1.submit(Workflows.quick(prefix: "after", width: 31, height: 17, color: 0x0000FF))
            try await eventually("x to run (first attempt)") { try await client1.runningJobID() == x ? true : nil }
            first.kill()

            let second = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            defer { second.kill() }
            let client2 = second.client()
            try await eventually("x to run again (second attempt)") { try await client2.runningJobID() == x ? true : nil }
            #expect(try await client2.jobs(status: "pending").compactMap { $0["id"]?.stringValue } == [y])
            second.kill()
            #expect(second.stderr.contains("Re-queued 1 job(s)"), "\(second.logs)")

            let third = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            defer { third.kill() }
            let client3 = third.client()
            #expect(third.stderr.contains("Gave up on 1 job(s)"), "\(third.logs)")
            try await client3.waitForFinished(y)

            let failed = try #require(try await client3.job(x))
            #expect(failed["status"]?.stringValue == "failed")
            let error = failed["execution_error"]
            #expect(error?["exception_type"]?.stringValue == "loom.JobAbandoned")
            #expect(error?["exception_message"]?.stringValue == "Loom stopped while running this job 2 times; it was not retried again.")
            let history = try #require(try await CrashRecovery.history(client3, x))
            #expect(history["status"]?["status_str"]?.stringValue == "error")
            #expect(history["status"]?["completed"]?.boolValue == false)
            #expect(history["status"]?["messages"]?.arrayValue?.last?.arrayValue?.first?.stringValue == "execution_error")

            let after = try #require(try await client3.job(y))
            #expect(after["status"]?.stringValue == "completed")
            #expect(try await client3.jobs().count == 3, "calibration, x and y; nothing duplicated")
            #expect(try await client3.jobs(status: "failed").compactMap { $0["id"]?.stringValue } == [x])
            #expect(!visibleFiles(in: data + "/output").contains { $0.hasPrefix("poison") })
            #expect(try PNGCheck.validate(data + "/output/after_00001_.png") == PNGCheck.Info(width: 31, height: 17))
            try await third.terminate()
        }

        @Test("kill -9 while clients submit: every accepted prompt runs, in order, exactly once")
        func killWhileSubmitting() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data")
            let output = data + "/output"
            final class Ledger: Sendable {
                let state = Mutex<(attempted: [String], accepted: Set<String>)>(([], []))
                func withLock<T>(_ body: (inout (attempted: [String], accepted: Set<String>)) -> T) -> T { state.withLock { body(&$0) } }
            }
            let ledger = Ledger()

            /// Submits jobs one after another until the server goes away or `count` are accepted.
            @Sendable func submitter(_ client: LoomClient, startIndex: Int, count: Int) async {
                var index = startIndex
                while index < startIndex + count {
                    let id = UUID().uuidString.lowercased()
                    ledger.withLock { $0.attempted.append(id) }
                    let prompt = Workflows.slow(prefix: "s\(index)", width: 16 + index, height: 24, color: index, edge: 256, inverts: 1)
                    do { try await client.submit(prompt, promptID: id) } catch { return }
                    ledger.withLock { _ = $0.accepted.insert(id) }
                    index += 1
                }
            }

            var servers: [LoomProcess] = []
            defer { for server in servers { server.kill() } }
            // Two rounds: submit continuously and kill -9 while submissions and jobs are in flight.
            for round in 0..<2 {
                let server = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
                servers.append(server)
                let before = ledger.withLock { $0.attempted.count }
                let task = Task { await submitter(server.client(), startIndex: before, count: 1000) }
                let threshold = before + 12 + 7 * round
                try await eventually("\(threshold) accepted prompts") { ledger.withLock { $0.accepted.count >= threshold } ? true : nil }
                server.kill()
                await task.value
            }
            let last = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            servers.append(last)
            let client = last.client()
            let (attempted, accepted) = ledger.withLock { $0 }
            try await eventually("the queue to drain", timeout: .seconds(60)) {
                let open = try await client.jobs(status: "pending,in_progress")
                return open.isEmpty ? true : nil
            }

            let stored = try await client.jobs()
            let storedIDs = stored.compactMap { $0["id"]?.stringValue }
            #expect(Set(storedIDs).count == storedIDs.count, "no duplicates")
            #expect(accepted.isSubset(of: Set(storedIDs)), "every prompt answered with a prompt_id is kept")
            #expect(Set(storedIDs).isSubset(of: Set(attempted)), "nothing appears that was not submitted")
            var startOrder: [(index: Int, start: Int64)] = []
            for job in stored {
                let id = try #require(job["id"]?.stringValue)
                let index = try #require(attempted.firstIndex(of: id))
                let status = job["status"]?.stringValue
                if status == "failed" {
                    // Possible only for a job running during both kills.
                    #expect(job["execution_error"]?["exception_type"]?.stringValue == "loom.JobAbandoned")
                    continue
                }
                #expect(status == "completed", "\(job.jsonString())")
                startOrder.append((index, job["execution_start_time"]?.int64Value ?? -1))
                let history = try #require(try await CrashRecovery.history(client, id))
                let files = history["outputs"]?["2"]?["images"]?.arrayValue?.compactMap { $0["filename"]?.stringValue } ?? []
                #expect(files.count == 1)
                for file in files {
                    #expect(try PNGCheck.validate(output + "/" + file) == PNGCheck.Info(width: 16 + index, height: 24))
                }
            }
            let byStart = startOrder.sorted { ($0.start, $0.index) < ($1.start, $1.index) }.map(\.index)
            #expect(byStart == byStart.sorted(), "jobs ran in submission order across restarts")
            #expect(stored.count >= 12 + 19)
            try await last.terminate()
        }

        @Test("SIGTERM while a job runs: the server exits and the job is not lost")
        func gracefulShutdownKeepsTheRunningJob() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data")

            let first = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            defer { first.kill() }
            let client1 = first.client()
            let (_, inverts) = try await Self.calibrate(client1, target: 2)
            let x = try await client1.submit(Workflows.slow(prefix: "term", width: 26, height: 14, color: 0xABCDEF, inverts: inverts))
            let y = try await client1.submit(Workflows.quick(prefix: "next", width: 11, height: 13, color: 0x123456))
            try await eventually("x to run") { try await client1.runningJobID() == x ? true : nil }
            let status = try await first.terminate(timeout: .seconds(30))
            #expect(status == 0, "\(first.logs)")

            let second = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            defer { second.kill() }
            let client2 = second.client()
            let jobX = try await client2.waitForFinished(x)
            try await client2.waitForFinished(y)
            #expect(jobX["status"]?.stringValue == "completed", "\(jobX.jsonString())")
            #expect(try await client2.job(y)?["status"]?.stringValue == "completed")
            let files = visibleFiles(in: data + "/output")
            #expect(files.filter { $0.hasPrefix("term") } == ["term_00001_.png"], "x ran to completion exactly once")
            try await second.terminate()
        }
    }
}
