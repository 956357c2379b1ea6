import HummingbirdTesting
import Testing
import Workflow

/// `POST /prompt`: the success shape, prompt ids, and every validation error with its exact JSON.
@Suite struct PromptSubmissionTests {
    @Test(arguments: ["/prompt", "/api/prompt"])
    func acceptsAPromptAndHonoursAClientChosenID(path: String) async throws {
        try await withServer { server in
            let first = try await server.post(path, json: ["prompt": Prompts.emptyInvertSave()])
            #expect(first.status == .ok)
            let body = try first.json()
            #expect(body.keys == ["prompt_id", "number", "node_errors"])
            #expect(body["prompt_id"]?.stringValue.map(isCanonicalUUID) == true)
            #expect(body["number"] == 0)
            #expect(body["node_errors"] == [:])

            let chosen = newUUID()
            let second = try await server.post(path, json: ["prompt": Prompts.emptyInvertSave(color: 1), "prompt_id": .string(chosen)])
            #expect(second.status == .ok)
            #expect(try second.json()["prompt_id"] == .string(chosen))
            #expect(try second.json()["number"] == 1)

            // An explicit number is echoed as a float.
            let third = try await server.post(path, json: ["prompt": Prompts.emptyInvertSave(color: 2), "number": 12.5])
            #expect(try third.json()["number"] == .double(12.5))

            _ = try await server.waitForHistory(chosen)
        }
    }

    @Test(arguments: ["/prompt", "/api/prompt"])
    func refusesNonCanonicalPromptIDs(path: String) async throws {
        try await withServer { server in
            for bad: JSONValue in ["not-a-uuid", .string(newUUID().uppercased()), .string(newUUID().replacingOccurrences(of: "-", with: "")), 42] {
                let response = try await server.post(path, json: ["prompt": Prompts.emptyInvertSave(), "prompt_id": bad])
                #expect(response.status == .badRequest)
                let body = try response.json()
                #expect(body["error"]?["type"] == "invalid_prompt_id")
                #expect(body["error"]?["message"] == "prompt_id must be a valid UUID")
                #expect(body["node_errors"] == [:])
            }
            try await expectNothingQueued(server)
        }
    }

    @Test(arguments: ["/prompt", "/api/prompt"])
    func refusesAMissingPrompt(path: String) async throws {
        try await withServer { server in
            for body: JSONValue? in [["client_id": "x"], ["prompt": nil], nil] {
                let response = try await server.post(path, json: body)
                #expect(response.status == .badRequest)
                #expect(try response.json() == [
                    "error": ["type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided", "extra_info": [:]],
                    "node_errors": [:],
                ])
            }
            try await expectNothingQueued(server)
        }
    }

    @Test func malformedJSONIsA400WithTheErrorShape() async throws {
        try await withServer { server in
            for path in ["/prompt", "/api/prompt"] {
                let response = try await server.post(path, text: "{\"prompt\": {", headers: [.contentType: "application/json"])
                #expect(response.status == .badRequest)
                let body = try response.json()
                #expect(body["error"]?["type"]?.stringValue != nil)
                #expect(body["error"]?["message"]?.stringValue != nil)
                #expect(body["error"]?["details"]?.stringValue != nil)
                #expect(body["error"]?["extra_info"] != nil)
                #expect(body["node_errors"] == [:])
            }
            try await expectNothingQueued(server)
        }
    }

    @Test func unknownClassTypeIsMissingNodeType() async throws {
        try await withServer { server in
            let prompt: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 8, "height": 8, "batch_size": 1, "color": 0]],
                "7": ["class_type": "NoSuchNode", "inputs": ["image": ["1", 0]]],
            ]
            let response = try await server.post("/prompt", json: ["prompt": prompt])
            #expect(response.status == .badRequest)
            #expect(try response.json() == [
                "error": [
                    "type": "missing_node_type", "message": "Node 'NoSuchNode' not found. The custom node may not be installed.",
                    "details": "Node ID '#7'",
                    "extra_info": ["node_id": "7", "class_type": "NoSuchNode", "node_title": "NoSuchNode"],
                ],
                "node_errors": [:],
            ])

            let untyped = try await server.post("/api/prompt", json: ["prompt": ["3": ["inputs": [:], "_meta": ["title": "Mystery"]]]])
            #expect(untyped.status == .badRequest)
            let body = try untyped.json()
            #expect(body["error"]?["type"] == "missing_node_type")
            #expect(body["error"]?["extra_info"] == ["node_id": "3", "class_type": nil, "node_title": "Mystery"])
            #expect(body["error"]?["message"]?.stringValue?.hasPrefix("Node 'Mystery' has no class_type.") == true)
            try await expectNothingQueued(server)
        }
    }

    @Test func aPromptWithoutOutputNodesIsRefused() async throws {
        try await withServer { server in
            let prompt: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 8, "height": 8, "batch_size": 1, "color": 0]],
                "2": ["class_type": "ImageInvert", "inputs": ["image": ["1", 0]]],
            ]
            let response = try await server.post("/prompt", json: ["prompt": prompt])
            #expect(response.status == .badRequest)
            #expect(try response.json() == [
                "error": ["type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": "", "extra_info": [:]],
                "node_errors": [:],
            ])
            try await expectNothingQueued(server)
        }
    }

    @Test func missingRequiredInput() async throws {
        try await withServer { server in
            let prompt: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 8, "batch_size": 1, "color": 0]],
                "2": ["class_type": "PreviewImage", "inputs": ["images": ["1", 0]]],
            ]
            let body = try await expectValidationFailure(server, prompt)
            #expect(body["node_errors"] == [
                "1": [
                    "errors": [["type": "required_input_missing", "message": "Required input is missing", "details": "height",
                                "extra_info": ["input_name": "height"]]],
                    "dependent_outputs": ["2"], "class_type": "EmptyImage",
                ],
            ])
            #expect(body["error"]?["details"] == "Required input is missing: height")
            try await expectNothingQueued(server)
        }
    }

    @Test func badLinks() async throws {
        try await withServer { server in
            // A three-element array, a link to a node that does not exist, and a link to a missing slot.
            for (link, details) in [(["1", 0, 0] as JSONValue, "images"), (["9", 0], "images: node '9' does not exist"),
                                    (["1", 3], "images: node '1' has no output 3")] {
                let prompt: JSONValue = [
                    "1": ["class_type": "EmptyImage", "inputs": ["width": 8, "height": 8, "batch_size": 1, "color": 0]],
                    "2": ["class_type": "PreviewImage", "inputs": ["images": link]],
                ]
                let body = try await expectValidationFailure(server, prompt)
                let error = body["node_errors"]?["2"]?["errors"]?.items.first
                #expect(error?["type"] == "bad_linked_input")
                #expect(error?["message"] == "Bad linked input, must be a length-2 list of [node_id, slot_index]")
                #expect(error?["details"] == .string(details))
                #expect(error?["extra_info"]?["input_name"] == "images")
                #expect(error?["extra_info"]?["input_config"] == ["IMAGE"])
                #expect(error?["extra_info"]?["received_value"] == link)
                #expect(body["node_errors"]?["2"]?["dependent_outputs"] == ["2"])
                #expect(body["node_errors"]?["2"]?["class_type"] == "PreviewImage")
            }
            try await expectNothingQueued(server)
        }
    }

    @Test func returnTypeMismatch() async throws {
        try await withServer(prepare: { dirs in try writePNG(rgba: true, to: dirs.input + "/pic.png") }) { server in
            // LoadImage's second output is a MASK; ImageInvert wants an IMAGE.
            let prompt: JSONValue = [
                "1": ["class_type": "LoadImage", "inputs": ["image": "pic.png"]],
                "2": ["class_type": "ImageInvert", "inputs": ["image": ["1", 1]]],
                "3": ["class_type": "PreviewImage", "inputs": ["images": ["2", 0]]],
            ]
            let body = try await expectValidationFailure(server, prompt)
            #expect(body["node_errors"] == [
                "2": [
                    "errors": [[
                        "type": "return_type_mismatch", "message": "Return type mismatch between linked nodes",
                        "details": "image, received_type(MASK) mismatch input_type(IMAGE)",
                        "extra_info": ["input_name": "image", "input_config": ["IMAGE"], "received_type": "MASK", "linked_node": ["1", 1]],
                    ]],
                    "dependent_outputs": ["3"], "class_type": "ImageInvert",
                ],
            ])
            try await expectNothingQueued(server)
        }
    }

    @Test func valueNotInList() async throws {
        try await withServer { server in
            let prompt: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 8, "height": 8, "batch_size": 1, "color": 0]],
                "2": ["class_type": "ImageScale",
                      "inputs": ["image": ["1", 0], "upscale_method": "sharpest", "width": 16, "height": 16, "crop": "disabled"]],
                "3": ["class_type": "PreviewImage", "inputs": ["images": ["2", 0]]],
            ]
            let body = try await expectValidationFailure(server, prompt)
            let error = try #require(body["node_errors"]?["2"]?["errors"]?.items.first)
            #expect(error["type"] == "value_not_in_list")
            #expect(error["message"] == "Value not in list")
            #expect(error["details"]?.stringValue?.hasPrefix("upscale_method: 'sharpest' not in [") == true)
            #expect(error["details"]?.stringValue?.contains("'nearest-exact'") == true)
            #expect(error["extra_info"]?["input_name"] == "upscale_method")
            #expect(error["extra_info"]?["received_value"] == "sharpest")
            #expect(error["extra_info"]?["input_config"]?.items.first?.strings.contains("bilinear") == true)
            #expect(body["node_errors"]?["2"]?["dependent_outputs"] == ["3"])
            try await expectNothingQueued(server)
        }
    }

    @Test(arguments: [(0, "value_smaller_than_min", "Value 0 smaller than min of 1"),
                      (20000, "value_bigger_than_max", "Value 20000 bigger than max of 16384")])
    func valueOutOfBounds(width: Int, type: String, message: String) async throws {
        try await withServer { server in
            let prompt: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": .number(width), "height": 8, "batch_size": 1, "color": 0]],
                "2": ["class_type": "PreviewImage", "inputs": ["images": ["1", 0]]],
            ]
            let body = try await expectValidationFailure(server, prompt)
            let error = try #require(body["node_errors"]?["1"]?["errors"]?.items.first)
            #expect(error["type"] == .string(type))
            #expect(error["message"] == .string(message))
            #expect(error["details"] == "width")
            #expect(error["extra_info"]?["input_name"] == "width")
            #expect(error["extra_info"]?["received_value"] == .number(width))
            #expect(error["extra_info"]?["input_config"]?.items.first == "INT")
            #expect(error["extra_info"]?["input_config"]?.items.last?["max"] == 16384)
            #expect(body["error"]?["details"] == .string("\(message): width"))
            try await expectNothingQueued(server)
        }
    }

    @Test func invalidInputType() async throws {
        try await withServer { server in
            let prompt: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": "wide", "height": 8, "batch_size": 1, "color": 0]],
                "2": ["class_type": "PreviewImage", "inputs": ["images": ["1", 0]]],
            ]
            let body = try await expectValidationFailure(server, prompt)
            let error = try #require(body["node_errors"]?["1"]?["errors"]?.items.first)
            #expect(error["type"] == "invalid_input_type")
            #expect(error["message"] == "Failed to convert an input value to a INT value")
            #expect(error["extra_info"]?["received_value"] == "wide")
            #expect(error["extra_info"]?["exception_message"]?.stringValue != nil)
            try await expectNothingQueued(server)
        }
    }

    @Test func dependencyCycle() async throws {
        try await withServer { server in
            let prompt: JSONValue = [
                "1": ["class_type": "ImageInvert", "inputs": ["image": ["2", 0]]],
                "2": ["class_type": "ImageInvert", "inputs": ["image": ["1", 0]]],
                "3": ["class_type": "SaveImage", "inputs": ["images": ["2", 0], "filename_prefix": "cycle"]],
            ]
            let body = try await expectValidationFailure(server, prompt)
            let errors = try #require(body["node_errors"]?.objectValue)
            #expect(Set(errors.keys) == ["1", "2"])
            for id in ["1", "2"] {
                let error = try #require(errors[id]?["errors"]?.items.first)
                #expect(error["type"] == "dependency_cycle")
                #expect(error["message"] == "Dependency cycle detected")
                #expect(error["extra_info"]?["node_id"] == .string(id))
                #expect(Set(error["extra_info"]?["cycle_nodes"]?.strings ?? []) == ["1", "2"])
                let details = error["details"]?.stringValue ?? ""
                #expect(details == "2 (ImageInvert) -> 1 (ImageInvert) -> 2 (ImageInvert)"
                    || details == "1 (ImageInvert) -> 2 (ImageInvert) -> 1 (ImageInvert)")
                #expect(errors[id]?["dependent_outputs"] == ["3"])
            }
            try await expectNothingQueued(server)
        }
    }

    @Test func partlyValidPromptRunsOnlyTheGoodOutputs() async throws {
        try await withServer { server in
            let prompt: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 8, "height": 8, "batch_size": 1, "color": 0]],
                "2": ["class_type": "PreviewImage", "inputs": ["images": ["1", 0]]],
                "3": ["class_type": "EmptyImage", "inputs": ["width": 0, "height": 8, "batch_size": 1, "color": 0]],
                "4": ["class_type": "PreviewImage", "inputs": ["images": ["3", 0]]],
            ]
            let response = try await server.post("/prompt", json: ["prompt": prompt])
            #expect(response.status == .ok)
            let body = try response.json()
            #expect(body["node_errors"]?["3"]?["errors"]?.items.first?["type"] == "value_smaller_than_min")
            #expect(body["node_errors"]?["3"]?["dependent_outputs"] == ["4"])
            let id = try #require(body["prompt_id"]?.stringValue)
            let entry = try await server.waitForHistory(id)
            #expect(entry["prompt"]?.items.last == ["2"])
            #expect(entry["outputs"]?.keys == ["2"])
        }
    }
}

/// POSTs `prompt`, expects 400 `prompt_outputs_failed_validation`, and returns the body.
func expectValidationFailure(_ server: TestServer, _ prompt: JSONValue,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
    let response = try await server.post("/prompt", json: ["prompt": prompt])
    #expect(response.status == .badRequest, sourceLocation: sourceLocation)
    let body = try response.json()
    #expect(body["error"]?["type"] == "prompt_outputs_failed_validation", sourceLocation: sourceLocation)
    #expect(body["error"]?["message"] == "Prompt outputs failed validation", sourceLocation: sourceLocation)
    #expect(body["error"]?["extra_info"] == [:], sourceLocation: sourceLocation)
    #expect(body.keys == ["error", "node_errors"], sourceLocation: sourceLocation)
    return body
}

/// Nothing is pending, running or in history.
func expectNothingQueued(_ server: TestServer, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let queue = try await server.getJSON("/queue", sourceLocation: sourceLocation)
    #expect(queue == ["queue_running": [], "queue_pending": []], sourceLocation: sourceLocation)
    let jobs = try await server.getJSON("/api/jobs", sourceLocation: sourceLocation)
    #expect(jobs["jobs"] == [], sourceLocation: sourceLocation)
    #expect(jobs["pagination"]?["total"] == 0, sourceLocation: sourceLocation)
    let history = try await server.getJSON("/history", sourceLocation: sourceLocation)
    #expect(history == [:], sourceLocation: sourceLocation)
}

/// `8-4-4-4-12` lowercase hex.
func isCanonicalUUID(_ text: String) -> Bool {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.map(\.count) == [8, 4, 4, 4, 12] else { return false }
    return text.allSatisfy { $0 == "-" || ("0"..."9").contains($0) || ("a"..."f").contains($0) }
}
