import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import Workflow

/// Every response the 1.58.1 frontend reads while it starts (spec 2.1) — users, settings, extensions, i18n,
/// object_info, system_stats, features, userdata, embeddings, models, the jobs pages, the queue and the history —
/// checked against the shapes the spec gives: each required field present with its JSON type, optional fields typed
/// when present.
@Suite struct StartupSchemaTests {
    // MARK: schemas (spec 2.2 – 2.7)

    /// One input spec of a node definition: `[TYPE]` or `[TYPE, {options}]`, TYPE a type name or a COMBO option list.
    static var inputSpec: Schema {
        .tuple([.oneOf([.string, .array(.oneOf([.string, .number]))])], rest: .object(), minCount: 1, maxCount: 2)
    }

    /// NodeDef (spec 2.4; the keys the frontend's schema requires, and the optional ones typed).
    static var nodeDefinition: Schema {
        .object(required: [
            "input": .object(required: ["required": .dictionary(inputSpec)],
                             optional: ["optional": .dictionary(inputSpec), "hidden": .dictionary(.any)]),
            "input_order": .object(required: ["required": .array(.string)],
                                   optional: ["optional": .array(.string), "hidden": .array(.string)]),
            "output": .array(.oneOf([.string, .array(.oneOf([.string, .number]))])),
            "output_is_list": .array(.bool),
            "output_name": .array(.string),
            "name": .string, "display_name": .string, "description": .string, "python_module": .string,
            "category": .string, "output_node": .bool,
        ], optional: [
            "output_tooltips": .array(.oneOf([.string, .null])), "is_input_list": .bool, "has_intermediate_output": .bool,
            "deprecated": .bool, "experimental": .bool, "dev_only": .bool, "api_node": .bool,
            "search_aliases": .array(.string), "essentials_category": .string,
        ])
    }

    /// `GET /system_stats` (spec 2.6).
    static var systemStats: Schema {
        .object(required: [
            "system": .object(required: [
                "os": .string, "ram_total": .integer, "ram_free": .integer, "comfyui_version": .string,
                "python_version": .string, "pytorch_version": .string, "embedded_python": .bool, "argv": .array(.string),
            ], optional: [
                "required_frontend_version": .string, "installed_templates_version": .string,
                "required_templates_version": .string, "comfy_package_versions": .dictionary(.string),
                "deploy_environment": .string,
            ]),
            "devices": .array(.object(required: ["name": .string, "type": .string], optional: [
                "index": .oneOf([.integer, .null]), "vram_total": .integer, "vram_free": .integer,
                "torch_vram_total": .integer, "torch_vram_free": .integer,
            ])),
        ])
    }

    /// `GET /features` (spec 2.6): the flags the frontend knows, typed.
    static var features: Schema {
        .object(required: ["supports_preview_metadata": .bool, "max_upload_size": .integer], optional: [
            "supports_model_type_tags": .bool, "node_replacements": .bool, "assets": .bool, "extension": .object(),
            "supports_progress_text_metadata": .bool,
        ])
    }

    /// One entry of a `full_info=true` user-data listing, or a written file's info (times in milliseconds).
    static var userFileInfo: Schema {
        .object(required: ["path": .string, "size": .integer, "modified": .integer, "created": .integer])
    }

    /// A queue item: `[number, prompt_id, prompt, extra_data, outputs_to_execute]` (spec 2.2).
    static var queueItem: Schema {
        .tuple([.number, .string, .dictionary(.object()), .object(), .array(.string)], minCount: 5, maxCount: 5)
    }

    /// HistoryEntry (spec 2.2).
    static var historyEntry: Schema {
        .object(required: [
            "prompt": queueItem,
            "outputs": .dictionary(.object()),
            "status": .object(required: [
                "status_str": .string, "completed": .bool,
                "messages": .array(.tuple([.string, .object(required: ["prompt_id": .string, "timestamp": .integer])],
                                          minCount: 2, maxCount: 2)),
            ]),
        ], optional: ["meta": .dictionary(.object())])
    }

    /// A media item of `preview_output` (spec 2.2: `nodeId` and `mediaType` are required by the frontend).
    static var previewOutput: Schema {
        .object(required: ["nodeId": .string, "mediaType": .string],
                optional: ["filename": .string, "subfolder": .string, "type": .enumeration(["input", "output", "temp"])])
    }

    /// Job (spec 2.2; keys with null values are omitted, so the optional ones must not be `null`).
    static var job: Schema {
        .object(required: [
            "id": .string, "status": .enumeration(["pending", "in_progress", "completed", "failed", "cancelled"]),
            "create_time": .integer,
        ], optional: [
            "priority": .number, "execution_start_time": .integer, "execution_end_time": .integer,
            "execution_error": .object(), "outputs_count": .integer, "previewable_outputs_count": .integer,
            "preview_output": previewOutput, "workflow_id": .string,
        ])
    }

    /// `GET /api/jobs` (spec 2.2: `limit` numeric even when the query has none).
    static var jobsPage: Schema {
        .object(required: [
            "jobs": .array(job),
            "pagination": .object(required: ["offset": .integer, "limit": .integer, "total": .integer, "has_more": .bool]),
        ])
    }

    // MARK: single user

    @Test func startupResponsesMatchTheirSchemas() async throws {
        try await withServer(prepare: { dirs in
            let checkpoint = dirs.base + "/models/checkpoints/sd15.safetensors"
            try FileManager.default.createDirectory(atPath: (checkpoint as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: checkpoint, contents: Data(repeating: 0, count: 16))
        }) { server in
            // 2.1 #2, #4, #6: features, users, settings.
            expectSchema(try await server.getJSON("/api/features"), Self.features, "GET /api/features")
            let features = try await server.getJSON("/api/features")
            #expect(features["assets"] == false, "assets must be off (spec 2.11): \(features.jsonString())")
            expectSchema(try await server.getJSON("/api/users"),
                         .object(required: ["storage": .enumeration(["server"]), "migrated": .bool]), "GET /api/users")
            expectSchema(try await server.getJSON("/api/settings"), .dictionary(.any), "GET /api/settings")
            #expect(try await server.post("/api/settings/Comfy.Locale", json: "en").status == .ok)
            #expect(try await server.post("/api/settings", json: ["Comfy.TextareaWidget.FontSize": 12]).status == .ok)
            let settings = try await server.getJSON("/api/settings")
            expectSchema(settings, .object(required: ["Comfy.Locale": .string, "Comfy.TextareaWidget.FontSize": .integer]),
                         "GET /api/settings after two writes")
            #expect(try await server.getJSON("/api/settings/Comfy.Locale") == "en")
            #expect(try await server.getJSON("/api/settings/Not.Set") == .null)

            // 2.1 #3: i18n answers an object of languages (or 404 = none).
            let i18n = try await server.get("/api/i18n")
            if i18n.status != .notFound {
                #expect(i18n.status == .ok)
                expectSchema(try i18n.json(), .dictionary(.object()), "GET /api/i18n")
            }

            // 2.1 #7, #13: user-data listings, 404 while the folder is missing, then the file infos.
            #expect(try await server.get("/api/userdata?dir=workflows&recurse=true&split=false&full_info=true").status == .notFound)
            #expect(try await server.get("/api/userdata").status == .badRequest)
            let written = try await server.post("/api/userdata/workflows%2Fflow%20one.json?overwrite=true&full_info=true",
                                                text: "{\"nodes\": []}")
            #expect(written.status == .ok)
            expectSchema(try written.json(), Self.userFileInfo, "POST /api/userdata/…?full_info=true")
            #expect(try written.json()["path"] == "workflows/flow one.json")
            let plain = try await server.post("/api/userdata/workflows%2Fsub%2Ftwo.json", text: "{}")
            #expect(try plain.json() == "workflows/sub/two.json")
            let listing = try await server.getJSON("/api/userdata?dir=workflows&recurse=true&split=false&full_info=true")
            expectSchema(listing, .array(Self.userFileInfo), "GET /api/userdata full_info")
            #expect(Set(listing.items.compactMap { $0["path"]?.stringValue }) == ["flow one.json", "sub/two.json"])
            expectSchema(try await server.getJSON("/api/userdata?dir=workflows&recurse=true"), .array(.string),
                         "GET /api/userdata names")
            let split = try await server.getJSON("/api/userdata?dir=workflows&recurse=true&split=true")
            // split: `[path] + path.split("/")`, as ComfyUI builds it.
            expectSchema(split, .array(.tuple([.string], rest: .string, minCount: 2, maxCount: 64)), "GET /api/userdata split")
            for entry in split.items {
                #expect(entry.strings.dropFirst().joined(separator: "/") == entry.strings.first, "split entry \(entry.jsonString())")
            }
            let file = try await server.get("/api/userdata/workflows%2Fflow%20one.json")
            #expect(file.status == .ok)
            #expect(try file.json() == ["nodes": []])

            // 2.1 #9, #10, #11.
            let extensions = try await server.getJSON("/api/extensions")
            expectSchema(extensions, .array(.string), "GET /api/extensions")
            let objectInfo = try await server.getJSON("/api/object_info")
            expectSchema(objectInfo, .dictionary(Self.nodeDefinition), "GET /api/object_info")
            #expect(objectInfo.keys.count > 5)
            for (name, definition) in objectInfo.objectValue ?? [:] {
                #expect(definition["name"]?.stringValue == name)
                let outputs = definition["output"]?.items.count
                #expect(outputs == definition["output_is_list"]?.items.count && outputs == definition["output_name"]?.items.count,
                        "\(name): output, output_is_list and output_name differ in length")
                for section in ["required", "optional"] {
                    let declared = definition["input"]?[section]?.keys ?? []
                    let order = definition["input_order"]?[section]?.strings ?? []
                    #expect(declared == order, "\(name): input_order.\(section) \(order) ≠ inputs \(declared)")
                }
            }
            let one = try await server.getJSON("/api/object_info/SaveImage")
            expectSchema(one, .object(required: ["SaveImage": Self.nodeDefinition]), "GET /api/object_info/SaveImage")
            #expect(try await server.getJSON("/api/object_info/NoSuchNode") == .object([:]))
            let stats = try await server.getJSON("/api/system_stats")
            expectSchema(stats, Self.systemStats, "GET /api/system_stats")
            #expect(stats["devices"]?.items.isEmpty == false)

            // 2.5: models and embeddings.
            expectSchema(try await server.getJSON("/api/embeddings"), .array(.string), "GET /api/embeddings")
            let folders = try await server.getJSON("/api/models")
            expectSchema(folders, .array(.string), "GET /api/models")
            #expect(folders.strings.contains("checkpoints"))
            let checkpoints = try await server.getJSON("/api/models/checkpoints")
            expectSchema(checkpoints, .array(.string), "GET /api/models/checkpoints")
            #expect(checkpoints.strings.contains("sd15.safetensors"))
            #expect(try await server.get("/api/models/no_such_folder").status == .notFound)
            expectSchema(try await server.getJSON("/api/experiment/models"),
                         .array(.object(required: ["name": .string, "folders": .array(.string)])), "GET /api/experiment/models")
            let library = try await server.getJSON("/api/experiment/models/checkpoints")
            expectSchema(library, .array(.object(required: [
                "name": .string, "pathIndex": .integer, "modified": .number, "created": .number, "size": .integer,
            ])), "GET /api/experiment/models/checkpoints")
            #expect(library.items.compactMap { $0["name"]?.stringValue } == ["sd15.safetensors"])

            // 2.1 #12 on an empty queue: both jobs pages.
            for query in ["status=in_progress,pending&limit=200&offset=0", "status=completed,failed,cancelled&limit=64&offset=0"] {
                let page = try await server.getJSON("/api/jobs?\(query)")
                expectSchema(page, Self.jobsPage, "GET /api/jobs?\(query)")
                #expect(page["pagination"]?["total"] == 0 && page["jobs"] == [])
            }
        }
    }

    // MARK: multi-user (spec 5)

    @Test func multiUserResponsesMatchTheirSchemas() async throws {
        try await withServer(multiUser: true) { server in
            expectSchema(try await server.getJSON("/api/users"),
                         .object(required: ["storage": .enumeration(["server"]), "users": .dictionary(.string)]),
                         "GET /api/users (multi-user)")
            let created = try await server.post("/api/users", json: ["username": "Ada Lovelace"])
            #expect(created.status == .ok)
            let id = try #require(try created.json().stringValue, "POST /api/users must answer a bare JSON string")
            #expect(id.hasPrefix("Ada-Lovelace_"))
            let duplicate = try await server.post("/api/users", json: ["username": "Ada Lovelace"])
            #expect(duplicate.status == .badRequest)
            expectSchema(try duplicate.json(), .object(required: ["error": .string]), "POST /api/users duplicate")
            let users = try await server.getJSON("/api/users")
            #expect(users["users"]?[id] == "Ada Lovelace")

            var user: HTTPFields = [:]
            user[HTTPField.Name("Comfy-User")!] = id
            let settings = try await server.get("/api/settings", headers: user)
            #expect(settings.status == .ok)
            expectSchema(try settings.json(), .dictionary(.any), "GET /api/settings as a user")
            var stranger: HTTPFields = [:]
            stranger[HTTPField.Name("Comfy-User")!] = "nobody_0"
            #expect(try await server.get("/api/settings", headers: stranger).status == .unauthorized)

            // index.html links the user stylesheet without a `Comfy-User` (spec 2.1 #1): no user, no stylesheet
            // (404), while the other user data of an unknown user stays refused.
            #expect(try await server.get("/api/userdata/user.css").status == .notFound)
            #expect(try await server.get("/api/userdata/user.css", headers: stranger).status == .notFound)
            #expect(try await server.get("/api/userdata/workflows%2Fa.json", headers: stranger).status == .unauthorized)
            #expect(try await server.get("/api/userdata?dir=workflows", headers: stranger).status == .unauthorized)
        }
    }

    // MARK: queue, history and jobs

    @Test func queueHistoryAndJobPagesMatchTheirSchemas() async throws {
        try await withServer { server in
            var finished: [String] = []
            for index in 0..<3 {
                finished.append(try await server.submit(Prompts.emptyInvertSave(color: 0x102030 * (index + 1), prefix: "schema")))
                try await server.waitForStatus(finished[index], ["completed"])
            }
            let failed = try await server.submit(Prompts.failing())
            try await server.waitForStatus(failed, ["failed"])
            let running = try await server.submit(Prompts.slow(steps: 2000, tickMS: 20))
            try await server.waitForStatus(running, ["in_progress"])
            let pending = try await server.submit(Prompts.slow(steps: 10, tickMS: 1))

            expectSchema(try await server.getJSON("/api/prompt"),
                         .object(required: ["exec_info": .object(required: ["queue_remaining": .integer])]), "GET /api/prompt")
            #expect(try await server.getJSON("/api/prompt")["exec_info"]?["queue_remaining"] == 2)
            let queue = try await server.getJSON("/api/queue")
            expectSchema(queue, .object(required: ["queue_running": .array(Self.queueItem), "queue_pending": .array(Self.queueItem)]),
                         "GET /api/queue")
            #expect(queue["queue_running"]?.items.first?.items[1].stringValue == running)
            #expect(queue["queue_pending"]?.items.first?.items[1].stringValue == pending)

            // The frontend's two pages, and paging through the finished jobs.
            let active = try await server.getJSON("/api/jobs?status=in_progress,pending&limit=200&offset=0")
            expectSchema(active, Self.jobsPage, "GET /api/jobs (queue)")
            #expect(Set(active["jobs"]?.items.compactMap { $0["id"]?.stringValue } ?? []) == [running, pending])
            let firstPage = try await server.getJSON("/api/jobs?status=completed,failed,cancelled&limit=3&offset=0")
            expectSchema(firstPage, Self.jobsPage, "GET /api/jobs (history, first page)")
            #expect(firstPage["pagination"] == ["offset": 0, "limit": 3, "total": 4, "has_more": true])
            #expect(firstPage["jobs"]?.items.count == 3)
            let secondPage = try await server.getJSON("/api/jobs?status=completed,failed,cancelled&limit=3&offset=3")
            expectSchema(secondPage, Self.jobsPage, "GET /api/jobs (history, second page)")
            #expect(secondPage["pagination"] == ["offset": 3, "limit": 3, "total": 4, "has_more": false])
            let pagedIDs = (firstPage["jobs"]?.items ?? []) + (secondPage["jobs"]?.items ?? [])
            #expect(Set(pagedIDs.compactMap { $0["id"]?.stringValue }) == Set(finished + [failed]))
            let unlimited = try await server.getJSON("/api/jobs")
            expectSchema(unlimited, Self.jobsPage, "GET /api/jobs (no query)")
            #expect(unlimited["pagination"]?["limit"]?.intValue == 6)
            let badLimit = try await server.get("/api/jobs?limit=0")
            #expect(badLimit.status == .badRequest)
            expectSchema(try badLimit.json(), .object(required: ["error": .string]), "GET /api/jobs?limit=0")

            // A finished job's detail, and a completed job's preview.
            let completed = try #require(firstPage["jobs"]?.items.first { $0["id"]?.stringValue == finished[2] })
            expectSchema(completed, .object(required: [
                "outputs_count": .integer, "previewable_outputs_count": .integer, "preview_output": Self.previewOutput,
                "execution_start_time": .integer, "execution_end_time": .integer,
            ]), "a completed job")
            let detail = try await server.getJSON("/api/jobs/\(finished[0])")
            expectSchema(detail, Self.job, "GET /api/jobs/{id}")
            expectSchema(detail, .object(required: [
                "outputs": .dictionary(.object()), "execution_status": .object(required: ["status_str": .string]),
                "workflow": .object(required: ["prompt": .object(), "extra_data": .object()]),
            ]), "GET /api/jobs/{id} details")
            let failure = try await server.getJSON("/api/jobs/\(failed)")
            expectSchema(failure, .object(required: ["execution_error": .object(required: [
                "prompt_id": .string, "node_id": .string, "node_type": .string, "exception_message": .string,
                "exception_type": .string, "traceback": .array(.string),
            ])]), "a failed job")
            let unknown = try await server.get("/api/jobs/\(newUUID())")
            #expect(unknown.status == .notFound)
            expectSchema(try unknown.json(), .object(required: ["error": .string]), "GET /api/jobs/{unknown}")

            // History, whole and per prompt.
            let history = try await server.getJSON("/api/history")
            expectSchema(history, .dictionary(Self.historyEntry), "GET /api/history")
            #expect(Set(history.keys) == Set(finished + [failed]))
            let lastTwo = try await server.getJSON("/api/history?max_items=2")
            #expect(lastTwo.keys.count == 2)
            let entry = try await server.getJSON("/api/history/\(finished[0])")
            expectSchema(entry, .object(required: [finished[0]: Self.historyEntry]), "GET /api/history/{id}")
            #expect(entry[finished[0]]?["status"]?["status_str"] == "success")
            #expect(try await server.getJSON("/api/history/\(running)") == .object([:]))

            let cancelled = try await server.post("/api/jobs/\(pending)/cancel")
            expectSchema(try cancelled.json(), .object(required: ["cancelled": .bool]), "POST /api/jobs/{id}/cancel")
            #expect(try cancelled.json()["cancelled"] == true)
        }
    }

    // MARK: the checker itself

    /// The schema checker finds missing fields, wrong types, extra tuple items and bad enumerations.
    @Test func schemaCheckerReportsViolations() {
        let schema = Schema.object(required: ["a": .integer, "b": .array(.string)], optional: ["c": .enumeration(["x"])])
        #expect(schemaViolations(["a": 1, "b": ["s"]], schema).isEmpty)
        #expect(schemaViolations(["a": 1, "b": ["s"], "c": "x"], schema).isEmpty)
        #expect(schemaViolations(["b": ["s"]], schema) == ["$: missing required field \"a\""])
        #expect(schemaViolations(["a": 1.5, "b": ["s"]], schema) == ["$.a: expected an integer, got 1.5"])
        #expect(schemaViolations(["a": 1, "b": [1]], schema) == ["$.b[0]: expected a string, got 1"])
        #expect(schemaViolations(["a": 1, "b": [], "c": "y"], schema) == ["$.c: expected one of [\"x\"], got \"y\""])
        #expect(schemaViolations(["a": 1, "b": [], "c": .null], schema) == ["$.c: expected one of [\"x\"], got null"])
        let pair = Schema.tuple([.string, .integer], minCount: 2, maxCount: 2)
        #expect(schemaViolations(["x", 1], pair).isEmpty)
        #expect(schemaViolations(["x", 1, 2], pair) == ["$: expected 2...2 items, got 3"])
        #expect(schemaViolations(.object([:]), .oneOf([.string, .array(.any)])).count == 1)
        #expect(schemaViolations(["k": ["v": 1]], .dictionary(.object(required: ["v": .string]))) == ["$.k.v: expected a string, got 1"])
    }
}

// MARK: - a small JSON schema checker

/// The shape a JSON value must have: types, required and optional object fields, element schemas.
indirect enum Schema {
    case any
    case null
    case bool
    case string
    /// A JSON integer.
    case integer
    /// Any JSON number.
    case number
    /// One of these strings.
    case enumeration([String])
    /// An array whose every element matches.
    case array(Schema)
    /// A fixed-position array: `items[i]` for the first items, `rest` for any further ones.
    case tuple([Schema], rest: Schema? = nil, minCount: Int, maxCount: Int)
    /// An object with these fields (others allowed); optional fields are typed when present.
    case object(required: [String: Schema] = [:], optional: [String: Schema] = [:])
    /// An object of any keys whose every value matches.
    case dictionary(Schema)
    /// Matches when one of the alternatives does.
    case oneOf([Schema])
}

/// The ways `value` departs from `schema`, each as `path: problem`.
func schemaViolations(_ value: JSONValue, _ schema: Schema, path: String = "$") -> [String] {
    func wrong(_ expected: String) -> [String] { ["\(path): expected \(expected), got \(value.jsonString().prefix(120))"] }
    switch schema {
    case .any:
        return []
    case .null:
        return value.isNull ? [] : wrong("null")
    case .bool:
        return value.boolValue != nil ? [] : wrong("a boolean")
    case .string:
        return value.stringValue != nil ? [] : wrong("a string")
    case .integer:
        switch value {
        case .int, .uint: return []
        default: return wrong("an integer")
        }
    case .number:
        switch value {
        case .int, .uint, .double: return []
        default: return wrong("a number")
        }
    case .enumeration(let allowed):
        guard let text = value.stringValue, allowed.contains(text) else { return wrong("one of \(allowed)") }
        return []
    case .array(let element):
        guard let items = value.arrayValue else { return wrong("an array") }
        return items.enumerated().flatMap { schemaViolations($1, element, path: "\(path)[\($0)]") }
    case .tuple(let items, let rest, let minCount, let maxCount):
        guard let values = value.arrayValue else { return wrong("an array") }
        guard (minCount...maxCount).contains(values.count) else {
            return ["\(path): expected \(minCount)...\(maxCount) items, got \(values.count)"]
        }
        return values.enumerated().flatMap { index, item in
            let itemSchema = index < items.count ? items[index] : (rest ?? .any)
            return schemaViolations(item, itemSchema, path: "\(path)[\(index)]")
        }
    case .object(let required, let optional):
        guard let object = value.objectValue else { return wrong("an object") }
        var problems: [String] = []
        for key in required.keys.sorted() {
            if let field = object[key] {
                problems += schemaViolations(field, required[key]!, path: "\(path).\(key)")
            } else {
                problems.append("\(path): missing required field \"\(key)\"")
            }
        }
        for key in optional.keys.sorted() {
            if let field = object[key] { problems += schemaViolations(field, optional[key]!, path: "\(path).\(key)") }
        }
        return problems
    case .dictionary(let element):
        guard let object = value.objectValue else { return wrong("an object") }
        return object.flatMap { key, field in schemaViolations(field, element, path: "\(path).\(key)") }
    case .oneOf(let alternatives):
        let matches = alternatives.contains { schemaViolations(value, $0, path: path).isEmpty }
        return matches ? [] : wrong("one of \(alternatives.count) alternative shapes")
    }
}

/// Records one issue per violation of `schema` by `value`, naming the response.
func expectSchema(_ value: JSONValue, _ schema: Schema, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let problems = schemaViolations(value, schema)
    for problem in problems.prefix(20) {
        Issue.record("\(what): \(problem)", sourceLocation: sourceLocation)
    }
    if problems.count > 20 {
        Issue.record("\(what): \(problems.count - 20) more violations", sourceLocation: sourceLocation)
    }
}
