import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import HummingbirdWSClient
import MessageQueue
import NIOCore
import Server
import Synchronization
import Testing
import Workflow

#if canImport(Glibc)
import Glibc

private let streamSocketType = Int32(SOCK_STREAM.rawValue)
private let sendFlags = Int32(MSG_NOSIGNAL)
private func posixConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    Glibc.connect(fd, address, length)
}
#elseif canImport(Darwin)
import Darwin

private let streamSocketType = SOCK_STREAM
private let sendFlags: Int32 = 0
private func posixConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    Darwin.connect(fd, address, length)
}
#endif

/// The queue service's HTTP calls and watch WebSocket under `/api/predict/`, through a live server and real
/// clients (the HTTP test client, and a raw WebSocket client that can drop its connection the way the EAS SDK does).
@Suite struct QueueServiceTests {
    static let uid: HTTPFields = [HTTPField.Name("X-EAS-QueueService-Redis-Uid")!: "consumer-1"]
    static let protobufAccept: HTTPFields = [.accept: "application/vnd.google.protobuf"]

    // MARK: put / get

    @Test func putAndGetRoundTripBytesAndFormDecodedTags() async throws {
        try await withQueueServer { server in
            let payload: [UInt8] = [0x00, 0xFF] + Array("payload".utf8)
            let put = try await server.put("/api/predict/svc?task_id=txt2img_0&k=a+b%26c%3Dd&_priority_=0&_x_=y", payload)
            #expect(put.status == .ok)
            let index = try #require(UInt64(put.text))
            #expect(index == 1)
            let rid = try #require(put.headers[HTTPField.Name("X-Eas-Queueservice-Request-Id")!])
            #expect(rid.count == 36)

            let got = try await server.request(.get, "/api/predict/svc?_index_=0&_length_=1&_timeout_=0s&_raw_=false&_auto_delete_=false&requestId=\(rid)",
                                               headers: Self.protobufAccept)
            #expect(got.status == .ok)
            #expect(got.headers[.contentType] == "application/vnd.google.protobuf")
            let frames = try QueueProto.decodeList(got.bytes)
            let frame = try #require(frames.first)
            #expect(frames.count == 1)
            #expect(frame.index == index)
            #expect(frame.data == payload)
            #expect(frame.message == "")
            #expect(frame.tag("k") == "a b&c=d")
            #expect(frame.tag("task_id") == "txt2img_0")
            #expect(frame.tag("requestId") == rid)
            #expect(frame.tags.map(\.key).sorted() == ["k", "requestId", "task_id"])

            // Filtering by a form-encoded tag value, then the default auto-delete of the SDK.
            let filtered = try await server.request(.get, "/api/predict/svc?_timeout_=0&_auto_delete_=true&k=a+b%26c%3Dd",
                                                    headers: Self.protobufAccept)
            #expect(try QueueProto.decodeList(filtered.bytes).map(\.index) == [index])
            let gone = try await server.request(.get, "/api/predict/svc?_timeout_=0")
            #expect(gone.status == .noContent)
            #expect(gone.body.readableBytes == 0)
        }
    }

    @Test func theServerAssignsTheRequestID() async throws {
        try await withQueueServer { server in
            let put = try await server.put("/api/predict/svc?requestId=client-chosen", Array("x".utf8))
            let rid = try #require(put.headers[HTTPField.Name("X-Eas-Queueservice-Request-Id")!])
            #expect(rid != "client-chosen")
            let json = try await server.request(.get, "/api/predict/svc?_timeout_=0&requestId=\(rid)").json()
            #expect(json.items.first?["tags"]?["requestId"] == .string(rid))
        }
    }

    @Test func getWithoutProtobufAcceptAnswersJSON() async throws {
        try await withQueueServer { server in
            let empty = try await server.request(.get, "/api/predict/svc/sink")
            #expect(empty.status == .noContent)
            #expect(empty.body.readableBytes == 0)
            _ = try await server.put("/api/predict/svc/sink?task_id=t1", [0x01, 0x02, 0xFF])
            let response = try await server.request(.get, "/api/predict/svc/sink?_timeout_=1s")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(response.headers[.contentLength] == String(response.body.readableBytes))
            let list = try response.json()
            let item = try #require(list.items.first)
            #expect(item.keys == ["index", "tags", "data"])
            #expect(item["index"] == 1)
            #expect(item["tags"]?["task_id"] == "t1")
            #expect(item["tags"]?["requestId"]?.stringValue?.isEmpty == false)
            #expect(item["data"] == .string(Data([0x01, 0x02, 0xFF]).base64EncodedString()))
            // Without _auto_delete_ the item stays; the input queue is a different queue.
            #expect(try await server.request(.get, "/api/predict/svc/sink").status == .ok)
            #expect(try await server.request(.get, "/api/predict/svc").status == .noContent)
        }
    }

    @Test func rawGetAnswersTheFirstMatchsBytes() async throws {
        try await withQueueServer { server in
            _ = try await server.put("/api/predict/svc?n=1", Array("first".utf8))
            _ = try await server.put("/api/predict/svc?n=2", Array("second".utf8))
            let response = try await server.request(.get, "/api/predict/svc?_raw_=true&_length_=5&_auto_delete_=true")
            #expect(response.text == "first")
            // Only the returned item was deleted.
            #expect(try await server.attribute("stream.length") == "1")
        }
    }

    @Test func lengthAndTagFilterSelectInIndexOrder() async throws {
        try await withQueueServer { server in
            for i in 0..<4 { _ = try await server.put("/api/predict/svc?parity=\(i % 2 == 0 ? "even" : "odd")", Array("\(i)".utf8)) }
            let three = try await server.request(.get, "/api/predict/svc?_length_=3&_auto_delete_=false", headers: Self.protobufAccept)
            #expect(try QueueProto.decodeList(three.bytes).map { String(decoding: $0.data, as: UTF8.self) } == ["0", "1", "2"])
            let odd = try await server.request(.get, "/api/predict/svc?_length_=10&parity=odd", headers: Self.protobufAccept)
            #expect(try QueueProto.decodeList(odd.bytes).map { String(decoding: $0.data, as: UTF8.self) } == ["1", "3"])
            let from = try await server.request(.get, "/api/predict/svc?_index_=3&_length_=10", headers: Self.protobufAccept)
            #expect(try QueueProto.decodeList(from.bytes).map(\.index) == [3, 4])
            let newest = try await server.request(.get, "/api/predict/svc?_index_=-1&_length_=10", headers: Self.protobufAccept)
            #expect(try QueueProto.decodeList(newest.bytes).map(\.index) == [4])
        }
    }

    @Test func longPollAnswersBeforeTheTimeoutAndWakesOnPut() async throws {
        try await withQueueServer { server in
            #expect(QueueServiceController.longPollWait(timeout: 5) == 4.5)
            #expect(QueueServiceController.longPollWait(timeout: 1) == 0.5)
            #expect(QueueServiceController.longPollWait(timeout: 0.2) == 0)

            var start = ContinuousClock.now
            let empty = try await server.request(.get, "/api/predict/svc?_timeout_=1s", headers: Self.protobufAccept)
            let waited = ContinuousClock.now - start
            #expect(empty.status == .noContent)
            #expect(waited >= .milliseconds(400))
            #expect(waited < .milliseconds(950))

            let putter = Task {
                try await Task.sleep(for: .milliseconds(500))
                _ = try await server.services.broker.put(queue: "svc", data: Array("late".utf8), tags: [:])
            }
            start = ContinuousClock.now
            let late = try await server.request(.get, "/api/predict/svc?_timeout_=3s", headers: Self.protobufAccept)
            #expect(ContinuousClock.now - start < .milliseconds(2500))
            #expect(try QueueProto.decodeList(late.bytes).map(\.data) == [Array("late".utf8)])
            try await putter.value
        }
    }

    @Test func malformedParametersAre400() async throws {
        try await withQueueServer { server in
            for query in ["_index_=abc", "_index_=-2", "_length_=x", "_timeout_=soon"] {
                let response = try await server.request(.get, "/api/predict/svc?\(query)")
                #expect(response.status == .badRequest, "\(query)")
                #expect(!response.text.isEmpty)
            }
        }
    }

    // MARK: attributes, search, commit, delete, truncate

    @Test func attributesAsJSONStringsAndProtobuf() async throws {
        try await withQueueServer(services: [QueueServiceDeclaration(name: "svc", settings: QueueSettings(maxLength: 7, maxPayloadBytes: 99))]) { server in
            let json = try await server.request(.get, "/api/predict/svc?_attrs_=true").json()
            let object = try #require(json.objectValue)
            let allStrings = object.allSatisfy { $0.value.stringValue != nil }
            #expect(allStrings)
            #expect(json["meta.name"] == "svc")
            #expect(json["meta.maxPayloadBytes"] == "99")
            #expect(json["stream.length"] == "0")
            #expect(json["stream.approxMaxLength"] == "7")
            #expect(json["stream.lastEntry"] == nil)
            #expect(json["meta.header.user"] == "X-EAS-QueueService-Redis-Uid")

            _ = try await server.put("/api/predict/svc/sink", [1])
            let proto = try await server.request(.get, "/api/predict/svc/sink?_attrs_=true", headers: Self.protobufAccept)
            let attributes = try QueueProto.decodeAttributes(proto.bytes)
            let map = Dictionary(attributes.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            #expect(map["meta.name"] == "svc/sink")
            #expect(map["stream.length"] == "1")
            #expect(map["stream.lastEntry"] == "1")
        }
    }

    @Test func searchReportsWaitCountOr404() async throws {
        try await withQueueServer { server in
            for i in 0..<3 { _ = try await server.put("/api/predict/svc", Array("\(i)".utf8)) }
            let found = try await server.request(.get, "/api/predict/svc?_search_=true&_index_=3")
            #expect(found.status == .ok)
            #expect(try found.json() == ["ConsumerId": "", "IsPending": false, "WaitCount": 2])
            let missing = try await server.request(.get, "/api/predict/svc?_search_=true&_index_=42")
            #expect(missing.status == .notFound)
            #expect(missing.text == "no data in stream")
            #expect(try await server.request(.get, "/api/predict/svc?_search_=true&_index_=x").status == .badRequest)
        }
    }

    @Test func commitDeleteAndTruncateAnswerOK() async throws {
        try await withQueueServer { server in
            for i in 0..<5 { _ = try await server.put("/api/predict/svc", Array("\(i)".utf8)) }
            let commit = try await server.request(.put, "/api/predict/svc?_indexes_=1,2", body: ByteBuffer())
            #expect(commit.status == .ok)
            #expect(commit.text == "OK")
            #expect(try await server.attribute("stream.firstEntry") == "3")
            let bad = try await server.request(.put, "/api/predict/svc?_indexes_=3,x")
            #expect(bad.status == .badRequest)
            #expect(try await server.request(.delete, "/api/predict/svc?_indexes_=").status == .badRequest)
            #expect(try await server.attribute("stream.length") == "3")
            let delete = try await server.request(.delete, "/api/predict/svc?_indexes_=3")
            #expect(delete.text == "OK")
            let truncate = try await server.request(.delete, "/api/predict/svc?_index_=5&_trunc_=true")
            #expect(truncate.status == .ok)
            #expect(truncate.text == "OK")
            #expect(try await server.attribute("stream.length") == "1")
            #expect(try await server.attribute("stream.firstEntry") == "5")
            // Unknown indexes are not an error.
            #expect(try await server.request(.put, "/api/predict/svc?_indexes_=99").text == "OK")
        }
    }

    @Test func fullQueueAndOversizePayloadStoreNothing() async throws {
        let settings = QueueSettings(maxLength: 2, maxPayloadBytes: 8)
        try await withQueueServer(services: [QueueServiceDeclaration(name: "svc", settings: settings)]) { server in
            #expect(try await server.put("/api/predict/svc", [1]).status == .ok)
            #expect(try await server.put("/api/predict/svc", [2]).status == .ok)
            let full = try await server.put("/api/predict/svc", [3])
            #expect(full.status == .tooManyRequests)
            #expect(full.text.contains("full"))
            #expect(try await server.attribute("stream.length") == "2")
            let large = try await server.put("/api/predict/svc/sink", Array(repeating: 7, count: 9))
            #expect(large.status == .contentTooLarge)
            let exact = try await server.put("/api/predict/svc/sink", Array(repeating: 7, count: 8))
            #expect(exact.status == .ok)
            #expect(exact.text == "1")
        }
    }

    // MARK: routing

    @Test func pathsResolveToServicesAndQueues() async throws {
        let services = [QueueServiceDeclaration(name: "test_group.qservice"), QueueServiceDeclaration(name: "svc")]
        try await withQueueServer(services: services) { server in
            #expect(try await server.put("/api/predict/nope", [1]).status == .notFound)
            #expect(try await server.request(.get, "/api/predict/").status == .notFound)
            // A sub-path other than sink is the input queue, with or without the consumer header.
            let viaSuffix = try await server.request(.post, "/api/predict/svc/api_prompt?task_id=t", body: ByteBuffer(string: "w"))
            #expect(viaSuffix.status == .ok)
            #expect(viaSuffix.text == "1")
            #expect(try await server.put("/api/predict/svc", [2]).text == "2")
            #expect(try await server.put("/api/predict/test_group.qservice/sink", [3]).text == "1")
            #expect(try await server.put("/api/predict/test%5Fgroup.qservice", [3]).text == "1")
            #expect(try await server.attribute("stream.length", path: "/api/predict/svc") == "2")
            #expect(try await server.attribute("meta.name", path: "/api/predict/test_group.qservice/sink") == "test_group.qservice/sink")
        }
    }

    // MARK: authentication

    @Test func serviceTokensAcceptRawAndBearerForms() async throws {
        let services = [QueueServiceDeclaration(name: "svc", token: "service-token"), QueueServiceDeclaration(name: "other")]
        try await withQueueServer(services: services, serverToken: "server-token") { server in
            let missing = try await server.request(.get, "/api/predict/svc?_attrs_=true")
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(!missing.text.isEmpty)
            let wrong = try await server.put("/api/predict/svc", [1], token: "server-token")
            #expect(wrong.status == .unauthorized)
            #expect(try await server.attribute("stream.length", path: "/api/predict/svc", token: "service-token") == "0")
            #expect(try await server.put("/api/predict/svc", [1], token: "service-token").status == .ok)
            #expect(try await server.put("/api/predict/svc", [1], token: "Bearer service-token").status == .ok)
            // A service without its own token uses the server's.
            #expect(try await server.put("/api/predict/other", [1], token: "server-token").status == .ok)
            #expect(try await server.put("/api/predict/other", [1], token: "service-token").status == .unauthorized)
            #expect(try await server.request(.delete, "/api/predict/svc?_indexes_=1").status == .unauthorized)
            #expect(try await server.attribute("stream.length", path: "/api/predict/svc", token: "service-token") == "2")
        }
    }

    @Test func signedPredictClientRequestsReachThePredictor() async throws {
        let token = "sync-token"
        let services = [QueueServiceDeclaration(name: "svc", token: token)]
        let echo: QueueServiceController.Predict = { service, body in (200, Array("\(service.name):".utf8) + body) }
        try await withQueueServer(services: services, predict: echo) { server in
            let body = Array(#"{"x": 1}"#.utf8)
            let md5 = try opensslHex(["dgst", "-md5"], input: body)
            let date = "Tue, 02 Dec 2025 10:00:00 GMT"
            let contentType = "application/octet-stream"
            let canonical = "POST\n\(md5)\n\(contentType)\n\(date)\n/api/predict/svc"
            let signature = try openssl(["dgst", "-sha1", "-hmac", token, "-binary"], input: Array(canonical.utf8))
            let authorization = "EAS " + Data(signature).base64EncodedString()
            #expect(EASSignature.authorization(token: token, body: body, contentType: contentType, date: date,
                                               path: "/api/predict/svc") == authorization)

            func signedHeaders(_ authorization: String, md5: String) -> HTTPFields {
                [.authorization: authorization, HTTPField.Name("Content-MD5")!: md5, .date: date, .contentType: contentType]
            }
            let ok = try await server.request(.post, "/api/predict/svc", body: ByteBuffer(bytes: body),
                                              headers: signedHeaders(authorization, md5: md5))
            #expect(ok.status == .ok)
            #expect(ok.text == #"svc:{"x": 1}"#)

            let otherKey = try openssl(["dgst", "-sha1", "-hmac", "wrong", "-binary"], input: Array(canonical.utf8))
            let badSignature = try await server.request(.post, "/api/predict/svc", body: ByteBuffer(bytes: body),
                                                        headers: signedHeaders("EAS " + Data(otherKey).base64EncodedString(), md5: md5))
            #expect(badSignature.status == .unauthorized)
            // A correctly signed header set whose MD5 is not the body's.
            let tampered = try await server.request(.post, "/api/predict/svc", body: ByteBuffer(string: #"{"x": 2}"#),
                                                    headers: signedHeaders(authorization, md5: md5))
            #expect(tampered.status == .unauthorized)
            // A plain token on the bare path without a consumer id is also a synchronous call; with one it is a put.
            let plain = try await server.request(.post, "/api/predict/svc", body: ByteBuffer(string: "p"), headers: [.authorization: token])
            #expect(plain.text == "svc:p")
            let put = try await server.request(.post, "/api/predict/svc", body: ByteBuffer(string: "p"),
                                               headers: [.authorization: token, HTTPField.Name("X-EAS-QueueService-Redis-Uid")!: "u"])
            #expect(put.text == "1")
        }
    }

    @Test func withoutAPredictorTheSynchronousPathIs404() async throws {
        try await withQueueServer { server in
            let response = try await server.request(.post, "/api/predict/svc", body: ByteBuffer(string: "x"))
            #expect(response.status == .notFound)
            #expect(response.text.contains("synchronous"))
            #expect(try await server.attribute("stream.length") == "0")
        }
    }

    @Test func eachDigestMatchesKnownVectors() throws {
        #expect(EASSignature.hex(EASSignature.md5([])) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(EASSignature.hex(EASSignature.md5(Array("abc".utf8))) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(EASSignature.hex(EASSignature.md5(Array("12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8)))
                == "57edf4a22be3c955ac49da2e2107b67a")
        #expect(EASSignature.hex(EASSignature.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(EASSignature.hex(EASSignature.sha1(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        // RFC 2202 test cases 1 and 6 (a key longer than the block).
        #expect(EASSignature.hex(EASSignature.hmacSHA1(key: Array(repeating: 0x0b, count: 20), message: Array("Hi There".utf8)))
                == "b617318655057264e28bc0b6fb378c8ef146be00")
        #expect(EASSignature.hex(EASSignature.hmacSHA1(key: Array(repeating: 0xaa, count: 80),
                                                        message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
                == "aa4ae5e15272d00e95705637ce8a3b55ed402112")
        // Every length around the padding boundaries, against openssl.
        for length in [55, 56, 63, 64, 65, 119, 120, 1000] {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            #expect(EASSignature.hex(EASSignature.md5(data)) == (try opensslHex(["dgst", "-md5"], input: data)), "md5 \(length)")
            #expect(EASSignature.hex(EASSignature.sha1(data)) == (try opensslHex(["dgst", "-sha1"], input: data)), "sha1 \(length)")
        }
    }

    // MARK: watch

    @Test func watchRefusesBadTokensAndPlainGets() async throws {
        try await withQueueServer(services: [QueueServiceDeclaration(name: "svc", token: "t")]) { server in
            let refused = try await RawWebSocket.connect(port: server.port, path: "/api/predict/svc?_watch_=true&_index_=0&_window_=5",
                                                   headers: ["Authorization": "wrong"])
            // Hummingbird answers every refused upgrade with a bare 400 (the router never sees it); the SDK
            // raises WebSocketBadStatusException on the first connect either way.
            #expect(refused.status == 400, "\(refused.answer)")
            let refusedOverHTTP = try await server.request(.get, "/api/predict/svc?_watch_=true", headers: [.authorization: "wrong"])
            #expect(refusedOverHTTP.status == .unauthorized)
            let accepted = try await RawWebSocket.connect(port: server.port, path: "/api/predict/svc?_watch_=true&_index_=0&_window_=5",
                                                    headers: ["Authorization": "t"])
            #expect(accepted.status == 101)
            accepted.abort()
            let plain = try await server.request(.get, "/api/predict/svc?_watch_=true", headers: [.authorization: "t"])
            #expect(plain.status == .badRequest)
            let badWindow = try await RawWebSocket.connect(port: server.port, path: "/api/predict/svc?_watch_=true&_window_=x",
                                                     headers: ["Authorization": "t"])
            #expect(badWindow.status == 400, "\(badWindow.answer)")
        }
    }

    @Test func watchSendsOneBinaryFramePerItemWithinTheWindow() async throws {
        try await withQueueServer { server in
            for i in 0..<7 { _ = try await server.put("/api/predict/svc/sink?task_id=\(i)", Array("\(i)".utf8)) }
            let socket = try await RawWebSocket.connect(port: server.port,
                                                  path: "/api/predict/svc/sink?_watch_=true&_index_=0&_window_=5&_index_only_=false&_auto_commit_=false",
                                                  headers: ["X-EAS-QueueService-Redis-Uid": "w1", "Accept": "application/vnd.google.protobuf"])
            defer { socket.abort() }
            #expect(socket.status == 101)
            try await socket.waitForMessages(5)
            try await Task.sleep(for: .milliseconds(300))
            #expect(socket.messages.count == 5)
            #expect(socket.messages.allSatisfy { $0.opcode == 2 && !$0.payload.isEmpty })
            let frames = try socket.messages.map { try QueueProto.decodeFrame($0.payload) }
            #expect(frames.map { $0.tag("task_id") ?? "" } == ["0", "1", "2", "3", "4"])
            #expect(frames.allSatisfy { ($0.tag("requestId") ?? "").count == 36 })

            #expect(try await server.request(.put, "/api/predict/svc/sink?_indexes_=\(frames[0].index)").text == "OK")
            try await socket.waitForMessages(6)
            try await Task.sleep(for: .milliseconds(200))
            #expect(socket.messages.count == 6)
            let more = "\(frames[1].index),\(frames[2].index)"
            #expect(try await server.request(.put, "/api/predict/svc/sink?_indexes_=\(more)").text == "OK")
            try await socket.waitForMessages(7)
            let all = try socket.messages.map { try QueueProto.decodeFrame($0.payload) }
            #expect(all.map { $0.tag("task_id") ?? "" } == ["0", "1", "2", "3", "4", "5", "6"])
            #expect(try await server.attribute("stream.length", path: "/api/predict/svc/sink") == "4")
        }
    }

    @Test func uncommittedItemsAreRedeliveredAfterAnAbortedConnection() async throws {
        try await withQueueServer { server in
            for i in 0..<3 { _ = try await server.put("/api/predict/svc", Array("\(i)".utf8)) }
            let path = "/api/predict/svc?_watch_=true&_index_=0&_window_=2&_index_only_=false&_auto_commit_=false"
            let first = try await RawWebSocket.connect(port: server.port, path: path, headers: ["X-EAS-QueueService-Redis-Uid": "a"])
            try await first.waitForMessages(2)
            let search = try await server.request(.get, "/api/predict/svc?_search_=true&_index_=1").json()
            #expect(search == ["ConsumerId": "a", "IsPending": true, "WaitCount": 0])
            // No close frame, as the SDK's watcher.close() does.
            first.abort()

            let second = try await RawWebSocket.connect(port: server.port, path: path.replacingOccurrences(of: "_window_=2", with: "_window_=5"),
                                                  headers: ["X-EAS-QueueService-Redis-Uid": "b"])
            defer { second.abort() }
            try await second.waitForMessages(3)
            let frames = try second.messages.map { try QueueProto.decodeFrame($0.payload) }
            // All three arrive; "2" may come first when the server notices the abort only after the second watcher
            // connected (redelivered items keep no place in line).
            #expect(frames.map { String(decoding: $0.data, as: UTF8.self) }.sorted() == ["0", "1", "2"])
            let indexes = frames.map { String($0.index) }.joined(separator: ",")
            #expect(try await server.request(.put, "/api/predict/svc?_indexes_=\(indexes)").text == "OK")
            #expect(try await server.attribute("stream.length") == "0")
        }
    }

    @Test func autoCommitIndexOnlyPriorityAndTagFilter() async throws {
        try await withQueueServer { server in
            _ = try await server.put("/api/predict/svc?kind=a", Array("n1".utf8))
            _ = try await server.put("/api/predict/svc?kind=b", Array("n2".utf8))
            _ = try await server.put("/api/predict/svc?kind=a", Array("p".utf8),
                                     headers: [HTTPField.Name("X-EAS-QueueService-Priority")!: "1"])
            _ = try await server.put("/api/predict/svc?kind=a&_priority_=1", Array("p2".utf8))
            let socket = try await RawWebSocket.connect(port: server.port,
                                                  path: "/api/predict/svc?_watch_=true&_index_=0&_window_=1&_index_only_=true&_auto_commit_=true&kind=a")
            defer { socket.abort() }
            try await socket.waitForMessages(3)
            try await Task.sleep(for: .milliseconds(200))
            let frames = try socket.messages.map { try QueueProto.decodeFrame($0.payload) }
            #expect(frames.map(\.index) == [3, 4, 1])
            #expect(frames.allSatisfy { $0.data.isEmpty && $0.tag("kind") == "a" && $0.tag("_priority_") == nil })
            #expect(try await server.attribute("stream.length") == "1")
        }
    }

    @Test func watchFromIndexMinusOneSeesOnlyNewItems() async throws {
        try await withQueueServer { server in
            _ = try await server.put("/api/predict/svc", Array("old".utf8))
            let socket = try await RawWebSocket.connect(port: server.port, path: "/api/predict/svc?_watch_=true&_index_=-1&_window_=5")
            defer { socket.abort() }
            #expect(socket.status == 101)
            try await Task.sleep(for: .milliseconds(200))
            #expect(socket.messages.isEmpty)
            _ = try await server.put("/api/predict/svc", Array("new".utf8))
            try await socket.waitForMessages(1)
            #expect(try QueueProto.decodeFrame(socket.messages[0].payload).data == Array("new".utf8))
        }
    }

    @Test func aWebSocketClientClosingNormallyReleasesItsItems() async throws {
        try await withQueueServer { server in
            _ = try await server.put("/api/predict/svc", Array("x".utf8))
            let received = Mutex<[[UInt8]]>([])
            let url = "ws://127.0.0.1:\(server.port)/api/predict/svc?_watch_=true&_index_=0&_window_=1"
            _ = try await WebSocketClient.connect(url: url, configuration: .init(), logger: testLogger) { inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .binary(let buffer) = message { received.withLock { $0.append(Array(buffer.readableBytesView)) } }
                    break
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
            let frames = try received.withLock { try $0.map { try QueueProto.decodeFrame($0) } }
            #expect(frames.map(\.data) == [Array("x".utf8)])
            // Released: another watcher of the group gets it again.
            try await server.waitUntil("the item is no longer pending") {
                let json = try await server.request(.get, "/api/predict/svc?_search_=true&_index_=1").json()
                return json["IsPending"] == false
            }
        }
    }
}

// MARK: - Test server

/// A live server with only the queue service routes, over an in-memory broker.
struct QueueTestServer: Sendable {
    let client: any TestClientProtocol
    let port: Int
    let services: QueueServices

    /// Sends a request (one at a time: the test client has one connection).
    @discardableResult
    func request(_ method: HTTPRequest.Method, _ uri: String, body: ByteBuffer? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: headers, body: body)
    }

    /// A QueueClient-style put: POST with the consumer id header (and a token, if given).
    func put(_ uri: String, _ bytes: [UInt8], token: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var all = headers
        all[HTTPField.Name("X-EAS-QueueService-Redis-Uid")!] = "producer"
        if let token { all[.authorization] = token }
        return try await request(.post, uri, body: ByteBuffer(bytes: bytes), headers: all)
    }

    /// One attribute of a queue (JSON form).
    func attribute(_ key: String, path: String = "/api/predict/svc", token: String? = nil) async throws -> String? {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = token }
        let response = try await request(.get, path + "?_attrs_=true", headers: headers)
        #expect(response.status == .ok)
        return try response.json()[key]?.stringValue
    }

    /// Polls `check` until it returns true.
    func waitUntil(_ what: String, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
                   _ check: () async throws -> Bool) async throws {
        try await pollUntil(what, timeout: timeout, sourceLocation: sourceLocation, check)
    }
}

/// Runs a server with the queue service controller and watch endpoint on a loopback port.
func withQueueServer(services declarations: [QueueServiceDeclaration] = [QueueServiceDeclaration(name: "svc")],
                     serverToken: String? = nil, predict: QueueServiceController.Predict? = nil,
                     _ body: @escaping @Sendable (QueueTestServer) async throws -> Void) async throws {
    let broker = MessageBroker(store: MemoryMessageStore())
    let services = QueueServices(broker: broker, services: declarations, serverToken: serverToken, backendName: "memory")
    try await services.open()
    let router = Router(context: LoomRequestContext.self)
    QueueServiceController(services: services, predict: predict).register(router)
    let endpoint = QueueWatchEndpoint(services: services)
    let application = Application(
        router: router,
        server: .http1WebSocketUpgrade { request, _, _ in await endpoint.shouldUpgrade(request) },
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        logger: testLogger)
    try await application.test(.live) { client in
        try await body(QueueTestServer(client: client, port: try #require(client.port), services: services))
    }
}

// MARK: - openssl

/// Runs `openssl` with `input` on stdin and returns its stdout.
func openssl(_ arguments: [String], input: [UInt8]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    let stdin = Pipe(), stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    stdin.fileHandleForWriting.write(Data(input))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestTimeout(what: "openssl \(arguments) failed") }
    return Array(output)
}

/// `openssl dgst` output reduced to the lowercase hex digest.
func opensslHex(_ arguments: [String], input: [UInt8]) throws -> String {
    let text = String(decoding: try openssl(arguments, input: input), as: UTF8.self)
    return String(text.split(separator: "=").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
}

// MARK: - Raw WebSocket client

/// A minimal blocking WebSocket client on a POSIX socket: sends the handshake, records every server message
/// (opcode and payload), answers pings, and can drop the connection without a close frame — what the EAS SDK's
/// `watcher.close()` does.
final class RawWebSocket: Sendable {
    struct Message: Sendable {
        var opcode: UInt8
        var payload: [UInt8]
    }

    let status: Int
    /// The handshake answer's head and whatever followed it in the first reads (for failure messages).
    let answer: String
    private let fd: Int32
    private let state = Mutex<(messages: [Message], closed: Bool)>(([], false))

    private init(fd: Int32, status: Int, answer: String = "") {
        self.fd = fd
        self.status = status
        self.answer = answer
    }

    var messages: [Message] { state.withLock { $0.messages } }

    /// Connects to 127.0.0.1 and sends the handshake; `status` is the HTTP status of the answer (101 on success).
    /// The blocking socket calls run on a thread of their own, never on the test's executor.
    static func connect(port: Int, path: String, headers: [String: String] = [:]) async throws -> RawWebSocket {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try blockingConnect(port: port, path: path, headers: headers) })
            }
            thread.start()
        }
    }

    private static func blockingConnect(port: Int, path: String, headers: [String: String]) throws -> RawWebSocket {
        let fd = socket(AF_INET, streamSocketType, 0)
        guard fd >= 0 else { throw TestTimeout(what: "socket()") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { posixConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestTimeout(what: "connect()")
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:\(port)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        sendAll(fd, Array(request.utf8))

        // Read the answer's head; anything after it is already frame data.
        var buffer: [UInt8] = []
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            guard let chunk = receive(fd) else { break }
            buffer += chunk
            if buffer.count >= 4 {
                headEnd = (0...(buffer.count - 4)).first { Array(buffer[$0..<$0 + 4]) == separator }
            }
        }
        guard let end = headEnd else {
            close(fd)
            return RawWebSocket(fd: -1, status: 0, answer: String(decoding: buffer, as: UTF8.self))
        }
        let head = String(decoding: buffer[..<end], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        guard status == 101 else {
            close(fd)
            return RawWebSocket(fd: -1, status: status, answer: String(decoding: buffer, as: UTF8.self))
        }
        let socket = RawWebSocket(fd: fd, status: status)
        let rest = Array(buffer[(end + 4)...])
        let reader = Thread { socket.readLoop(initial: rest) }
        reader.start()
        return socket
    }

    /// Drops the connection: no close frame, just the end of the TCP stream.
    func abort() {
        guard fd >= 0 else { return }
        let alreadyClosed = state.withLock { state -> Bool in
            defer { state.closed = true }
            return state.closed
        }
        if !alreadyClosed { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Waits until at least `count` messages arrived.
    func waitForMessages(_ count: Int, timeout: Duration = .seconds(5), sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let deadline = ContinuousClock.now + timeout
        while messages.count < count {
            if ContinuousClock.now >= deadline {
                Issue.record("Expected \(count) WebSocket messages, got \(messages.count)", sourceLocation: sourceLocation)
                throw TestTimeout(what: "\(count) messages")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private func readLoop(initial: [UInt8]) {
        var buffer = initial
        func need(_ n: Int) -> Bool {
            while buffer.count < n {
                guard let chunk = Self.receive(fd) else { return false }
                buffer += chunk
            }
            return true
        }
        loop: while true {
            guard need(2) else { break }
            let opcode = buffer[0] & 0x0F
            var length = Int(buffer[1] & 0x7F)
            var offset = 2
            if length == 126 {
                guard need(4) else { break }
                length = Int(buffer[2]) << 8 | Int(buffer[3])
                offset = 4
            } else if length == 127 {
                guard need(10) else { break }
                length = (2..<10).reduce(0) { $0 << 8 | Int(buffer[$1]) }
                offset = 10
            }
            guard need(offset + length) else { break }
            let payload = Array(buffer[offset..<offset + length])
            buffer.removeFirst(offset + length)
            switch opcode {
            case 0x9:
                // Pong with the same payload, masked with a zero key as a client must mask.
                Self.sendAll(fd, [0x8A, 0x80 | UInt8(payload.count), 0, 0, 0, 0] + payload)
            case 0x8:
                break loop
            default:
                state.withLock { $0.messages.append(Message(opcode: opcode, payload: payload)) }
            }
        }
        state.withLock { $0.closed = true }
        close(fd)
    }

    private static func receive(_ fd: Int32) -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Array(chunk[..<n])
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, sendFlags) }
            guard n > 0 else { return }
            offset += n
        }
    }
}
