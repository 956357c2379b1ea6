import Foundation
import Testing

/// The API edition driven by the official `eas_prediction` SDK (PyPI, pinned in Tests/EASCompat/requirements.txt)
/// against the real `loom` executable: every check of the queue protocol's test plan, the ComfyUI round trip,
/// a watcher whose connection is cut every few frames, and a restart between put and watch.
///
/// The SDK's virtual environment is made by `scripts/setup.sh` (`LOOM_EAS_PYTHON` points at another python).
@Suite(.serialized) struct QueueServiceSDKTests {
    static let token = "eas-test-token"

    static func python() throws -> String {
        if let given = ProcessInfo.processInfo.environment["LOOM_EAS_PYTHON"], !given.isEmpty { return given }
        let path = NSHomeDirectory() + "/.cache/loom-tests/eas-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("The eas_prediction SDK environment is missing at \(path): run scripts/setup.sh (it creates it)")
        }
        return path
    }

    static let checks = LoomBinary.packageRoot.appendingPathComponent("Tests/EASCompat/eas_checks.py").path

    /// Runs python with arguments; returns status and combined output.
    static func runPython(_ arguments: [String], timeout: Duration = .seconds(300)) async throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("eas-\(UUID().uuidString).txt")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.waitUntilExit()
        try? handle.close()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    /// A workflow that needs no model: a colour frame batch saved as PNG, animated WEBP and H.264 MP4.
    static let workflow = """
        {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 16744448}},
         "2": {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": 4}},
         "9": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "ComfyUI"}},
         "15": {"class_type": "SaveAnimatedWEBP", "inputs": {"images": ["2", 0], "filename_prefix": "ComfyUI", "fps": 10,
                "lossless": false, "quality": 85, "method": "default"}},
         "19": {"class_type": "VHS_VideoCombine", "inputs": {"images": ["2", 0], "frame_rate": 10, "loop_count": 0,
                "filename_prefix": "comfyUI", "format": "video/h264-mp4", "pix_fmt": "yuv420p", "crf": 20,
                "save_metadata": true, "pingpong": false, "save_output": true}}}
        """

    static let serviceArguments = [
        "--token", token,
        "--queue-service", "q1,max-payload-bytes=65536",
        "--queue-service", "small,max-length=3",
        "--queue-service", "syncsvc:echo",
        "--queue-service", "comfy:comfyui",
    ]

    @Test func sdkChecksPass() async throws {
        let scratch = try ScratchDirectory("loom-eas")
        defer { scratch.remove() }
        let workflowPath = scratch.appending("workflow.json")
        FileManager.default.createFile(atPath: workflowPath, contents: Data(Self.workflow.utf8))
        let server = try await LoomProcess.start(dataDirectory: scratch.appending("data"), extraArguments: Self.serviceArguments,
                                                 logDirectory: scratch.path)
        defer { server.kill() }
        let (status, output) = try await Self.runPython([
            Self.checks, "--endpoint", "127.0.0.1:\(server.port)", "--service", "q1", "--token", Self.token,
            "--full-service", "small", "--sync-service", "syncsvc", "--comfy-service", "comfy", "--workflow", workflowPath,
            "--view-url", "http://127.0.0.1:\(server.port)", "--payload-limit", "65536",
        ])
        #expect(status == 0, "eas_checks.py failed:\n\(output)\n\(server.logs)")
        #expect(output.contains("PASS t18"), "\(output)")
    }

    @Test func synchronousPredictRunsAComfyUIWorkflow() async throws {
        let scratch = try ScratchDirectory("loom-eas-predict")
        defer { scratch.remove() }
        let server = try await LoomProcess.start(dataDirectory: scratch.appending("data"), extraArguments: Self.serviceArguments,
                                                 logDirectory: scratch.path)
        defer { server.kill() }
        let script = """
            import sys, json
            from eas_prediction import PredictClient, StringRequest
            from eas_prediction.exception import PredictException
            c = PredictClient(sys.argv[1], 'comfy'); c.set_token(sys.argv[2]); c.set_timeout(120000); c.init()
            result = json.loads(c.predict(StringRequest(sys.argv[3])).response_data)
            outputs = result[-1]
            print('outputs', sorted(outputs.keys()))
            print('executed', sorted(e['data']['node'] for e in result[:-1] if e['type'] == 'executed'))
            print('webp', outputs['15']['images'][0]['filename'], outputs['15'].get('animated'))
            try:
                c.set_retry_count(1)  # (0 makes the SDK send nothing at all)
                c.predict(StringRequest('{"1": {"class_type": "NoSuchNode", "inputs": {}}}'))
                print('bad workflow accepted')
            except PredictException as e:
                print('bad workflow', e.code, 'error' in str(e))
            """
        let (status, output) = try await Self.runPython(["-c", script, "127.0.0.1:\(server.port)", Self.token, Self.workflow])
        #expect(status == 0, "\(output)\n\(server.logs)")
        #expect(output.contains("outputs ['15', '19', '9']"), "\(output)")
        #expect(output.contains("executed ['15', '19', '9']"), "\(output)")
        // SaveImage's PNG shares the prefix and the counter, so the WEBP is number 1 or 2 depending on which ran first.
        #expect(output.contains(/webp ComfyUI_0000[12]_\.webp \[True\]/), "\(output)")
        #expect(output.contains("bad workflow 400 True"), "\(output)")
    }

    @Test func aRestartBetweenPutAndWatchLosesNothing() async throws {
        let scratch = try ScratchDirectory("loom-eas-restart")
        defer { scratch.remove() }
        let data = scratch.appending("data")
        var server = try await LoomProcess.start(dataDirectory: data, extraArguments: Self.serviceArguments, logDirectory: scratch.path)
        let put = """
            import sys
            from eas_prediction import QueueClient
            q = QueueClient(sys.argv[1], 'q1'); q.set_token(sys.argv[2]); q.init()
            print(','.join(q.put(('item-%d' % i).encode(), tags={'task_id': 't%d' % i})[0] for i in range(3)))
            """
        let (putStatus, indexes) = try await Self.runPython(["-c", put, "127.0.0.1:\(server.port)", Self.token])
        #expect(putStatus == 0, "\(indexes)")
        server.kill()  // SIGKILL: no chance to flush anything that was not already durable
        server = try await LoomProcess.start(dataDirectory: data, extraArguments: Self.serviceArguments, logDirectory: scratch.path)
        defer { server.kill() }
        let watch = """
            import sys, threading
            from eas_prediction import QueueClient
            q = QueueClient(sys.argv[1], 'q1'); q.set_token(sys.argv[2]); q.init()
            got = []
            w = q.watch(0, 5, auto_commit=False)
            def run():
                for x in w.run():
                    got.append((x.index, x.data.decode(), x.tags['task_id']))
                    q.commit(x.index)
                    if len(got) == 3: break
            t = threading.Thread(target=run, daemon=True); t.start(); t.join(20)
            w.close()
            print(got)
            idx = q.put(b'after-restart')[0]
            print('next', idx, 'length', q.attributes()['stream.length'])
            """
        let (watchStatus, output) = try await Self.runPython(["-c", watch, "127.0.0.1:\(server.port)", Self.token])
        #expect(watchStatus == 0, "\(output)\n\(server.logs)")
        let expected = indexes.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").enumerated()
            .map { "(\($0.element), 'item-\($0.offset)', 't\($0.offset)')" }.joined(separator: ", ")
        #expect(output.contains("[\(expected)]"), "\(output)")
        // Indexes keep increasing across the restart.
        let last = Int(indexes.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").last ?? "0") ?? 0
        #expect(output.contains("next \(last + 1) length 1"), "\(output)")
    }
}
