import Testing
import Workflow

@Suite struct PromptValidatorTests {
    let validator = PromptValidator(registry: TestNodes.registry())

    func validate(_ json: String, partialTargets: [String]? = nil) throws -> PromptValidator.Outcome {
        validator.validate(try apiPrompt(json), partialTargets: partialTargets)
    }

    /// The errors listed for `node`.
    func errors(_ outcome: PromptValidator.Outcome, _ node: String) -> [JSONValue] {
        outcome.nodeErrors[node]?["errors"]?.arrayValue ?? []
    }

    /// The single error listed for `node` (records an issue when there is not exactly one).
    func onlyError(_ outcome: PromptValidator.Outcome, _ node: String,
                   sourceLocation: SourceLocation = #_sourceLocation) -> JSONValue {
        let list = errors(outcome, node)
        #expect(list.count == 1, "errors of \(node): \(list)", sourceLocation: sourceLocation)
        return list.first ?? .null
    }

    // MARK: Top-level refusals

    @Test func missingClassTypeIsATopLevelError() throws {
        let outcome = try validate(#"{"1": {"inputs": {}}, "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}"#)
        let error = try #require(outcome.error)
        #expect(error.type == "missing_node_type")
        #expect(error.message == "Node 'ID #1' has no class_type. The workflow may be corrupted or a custom node may be missing.")
        #expect(error.details == "Node ID '#1'")
        #expect(error.extraInfo["node_id"] == "1")
        #expect(error.extraInfo["class_type"] == .null)
        #expect(error.extraInfo["node_title"] == .null)
        #expect(outcome.nodeErrors.isEmpty)
        #expect(outcome.goodOutputs.isEmpty)
        #expect(!outcome.isValid)
    }

    @Test func missingClassTypeUsesTheTitle() throws {
        let outcome = try validate(#"{"7": {"inputs": {}, "_meta": {"title": "My Loader"}}}"#)
        #expect(outcome.error?.message.hasPrefix("Node 'My Loader' has no class_type.") == true)
        #expect(outcome.error?.extraInfo["node_title"] == "My Loader")
    }

    @Test func unknownClassIsATopLevelError() throws {
        let outcome = try validate(#"{"3": {"class_type": "Nope", "inputs": {}, "_meta": {"title": "Fancy"}}}"#)
        let error = try #require(outcome.error)
        #expect(error.type == "missing_node_type")
        #expect(error.message == "Node 'Fancy' not found. The custom node may not be installed.")
        #expect(error.details == "Node ID '#3'")
        #expect(error.extraInfo["node_id"] == "3")
        #expect(error.extraInfo["class_type"] == "Nope")
        #expect(error.extraInfo["node_title"] == "Fancy")
        #expect(outcome.nodeErrors.isEmpty)
    }

    @Test func unknownClassWithoutTitleNamesTheClass() throws {
        let outcome = try validate(#"{"3": {"class_type": "Nope", "inputs": {}}}"#)
        #expect(outcome.error?.message == "Node 'Nope' not found. The custom node may not be installed.")
        #expect(outcome.error?.extraInfo["node_title"] == "Nope")
    }

    @Test func promptWithoutOutputNodes() throws {
        let outcome = try validate(#"{"1": {"class_type": "Number", "inputs": {"value": 1}}}"#)
        #expect(outcome.error == PromptError(type: "prompt_no_outputs", message: "Prompt has no outputs"))
        #expect(outcome.nodeErrors.isEmpty)
    }

    @Test func partialTargetsThatNameNoOutputs() throws {
        let outcome = try validate(#"{"1": {"class_type": "Pick", "inputs": {"choice": "a"}}}"#, partialTargets: ["9"])
        #expect(outcome.error?.type == "prompt_no_outputs")
    }

    // MARK: Per-input errors

    @Test func requiredInputMissing() throws {
        let outcome = try validate(#"{"1": {"class_type": "Show", "inputs": {}}}"#)
        let error = onlyError(outcome, "1")
        #expect(error == ["type": "required_input_missing", "message": "Required input is missing", "details": "value",
                          "extra_info": ["input_name": "value"]])
        #expect(outcome.nodeErrors["1"]?["class_type"] == "Show")
        #expect(outcome.nodeErrors["1"]?["dependent_outputs"] == ["1"])
    }

    @Test func missingOptionalInputIsFine() throws {
        let outcome = try validate(#"{"1": {"class_type": "Widgets", "inputs": {"count": 1, "ratio": 1, "flag": true, "text": "t"}}}"#)
        #expect(outcome.isValid)
        #expect(outcome.nodeErrors.isEmpty)
        #expect(outcome.goodOutputs == ["1"])
    }

    @Test func undeclaredInputsAreIgnored() throws {
        let outcome = try validate(#"{"1": {"class_type": "Pick", "inputs": {"choice": "a", "junk": ["99", 0], "x": {"y": 1}}}}"#)
        #expect(outcome.isValid)
    }

    @Test func badLinkedInputOfWrongLength() throws {
        let outcome = try validate(#"{"1": {"class_type": "Show", "inputs": {"value": ["2"]}}, "2": {"class_type": "Number", "inputs": {"value": 1}}}"#)
        let error = onlyError(outcome, "1")
        #expect(error["type"] == "bad_linked_input")
        #expect(error["message"] == "Bad linked input, must be a length-2 list of [node_id, slot_index]")
        #expect(error["details"] == "value")
        #expect(error["extra_info"] == ["input_name": "value", "input_config": ["*"], "received_value": ["2"]])
        #expect(outcome.error?.type == "prompt_outputs_failed_validation")
    }

    @Test func badLinkedInputToAMissingNodeOrSlot() throws {
        let missing = try validate(#"{"1": {"class_type": "Show", "inputs": {"value": ["99", 0]}}}"#)
        #expect(onlyError(missing, "1")["type"] == "bad_linked_input")
        #expect(onlyError(missing, "1")["extra_info"]?["received_value"] == ["99", 0])

        let slot = try validate(#"{"1": {"class_type": "Show", "inputs": {"value": ["2", 3]}}, "2": {"class_type": "Number", "inputs": {"value": 1}}}"#)
        #expect(onlyError(slot, "1")["type"] == "bad_linked_input")

        let notALink = try validate(#"{"1": {"class_type": "Show", "inputs": {"value": ["2", "x"]}}, "2": {"class_type": "Number", "inputs": {"value": 1}}}"#)
        #expect(onlyError(notALink, "1")["type"] == "bad_linked_input")
    }

    @Test func returnTypeMismatch() throws {
        let outcome = try validate(#"{"1": {"class_type": "ImageSource", "inputs": {}}, "2": {"class_type": "LatentSink", "inputs": {"input": ["1", 0]}}}"#)
        let error = onlyError(outcome, "2")
        #expect(error["type"] == "return_type_mismatch")
        #expect(error["message"] == "Return type mismatch between linked nodes")
        #expect(error["details"] == "input, received_type(IMAGE) mismatch input_type(LATENT)")
        #expect(error["extra_info"] == ["input_name": "input", "input_config": ["LATENT"], "received_type": "IMAGE",
                                        "linked_node": ["1", 0]])
        #expect(outcome.nodeErrors["1"] == nil)
    }

    @Test func typeUnionsAndWildcardsMatch() throws {
        let outcome = try validate("""
            {"1": {"class_type": "ImageSource", "inputs": {}},
             "2": {"class_type": "ImageOrLatentSink", "inputs": {"input": ["1", 0]}},
             "3": {"class_type": "AnySink", "inputs": {"input": ["1", 0]}},
             "4": {"class_type": "AnySource", "inputs": {}},
             "5": {"class_type": "LatentSink", "inputs": {"input": ["4", 0]}},
             "6": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}
            """)
        #expect(outcome.isValid)
        #expect(outcome.nodeErrors.isEmpty)
        #expect(outcome.goodOutputs == ["2", "3", "5", "6"])
    }

    @Test func invalidInputType() throws {
        let outcome = try validate(#"{"1": {"class_type": "Widgets", "inputs": {"count": "abc", "ratio": "x1", "flag": true, "text": "t"}}}"#)
        let list = errors(outcome, "1")
        #expect(list.count == 2)
        #expect(list.first?["type"] == "invalid_input_type")
        #expect(list.first?["message"] == "Failed to convert an input value to a INT value")
        #expect(list.first?["details"] == "count, abc, invalid literal for int() with base 10: 'abc'")
        #expect(list.first?["extra_info"]?["received_value"] == "abc")
        #expect(list.first?["extra_info"]?["exception_message"] == "invalid literal for int() with base 10: 'abc'")
        #expect(list.first?["extra_info"]?["input_config"]?.arrayValue?.first == "INT")
        #expect(list.last?["message"] == "Failed to convert an input value to a FLOAT value")
        #expect(list.last?["details"] == "ratio, x1, could not convert string to float: 'x1'")
    }

    @Test(arguments: ["7.5", "", "1e3", "0x10", "five"])
    func nonIntegralStringsAreNotInts(_ text: String) throws {
        let outcome = try validate(#"{"1": {"class_type": "Widgets", "inputs": {"count": "\#(text)", "ratio": 1, "flag": true, "text": "t"}}}"#)
        #expect(onlyError(outcome, "1")["type"] == "invalid_input_type")
    }

    @Test func valueBelowMinimum() throws {
        let outcome = try validate(#"{"1": {"class_type": "Widgets", "inputs": {"count": 0, "ratio": 1, "flag": true, "text": "t"}}}"#)
        let error = onlyError(outcome, "1")
        #expect(error["type"] == "value_smaller_than_min")
        #expect(error["message"] == "Value 0 smaller than min of 1")
        #expect(error["details"] == "count")
        #expect(error["extra_info"]?["received_value"] == 0)
        #expect(error["extra_info"]?["input_config"] == ["INT", ["default": 1, "min": 1, "max": 100]])
        #expect(outcome.error?.details == "Value 0 smaller than min of 1: count")
    }

    @Test func valueAboveMaximum() throws {
        let outcome = try validate(#"{"1": {"class_type": "Widgets", "inputs": {"count": 101, "ratio": 10.5, "flag": true, "text": "t"}}}"#)
        let list = errors(outcome, "1")
        #expect(list.map { $0["type"] } == ["value_bigger_than_max", "value_bigger_than_max"])
        #expect(list.map { $0["message"] } == ["Value 101 bigger than max of 100", "Value 10.5 bigger than max of 10.0"])
        #expect(list.map { $0["details"] } == ["count", "ratio"])
    }

    @Test func valueNotInShortList() throws {
        let outcome = try validate(#"{"1": {"class_type": "Pick", "inputs": {"choice": "c"}}}"#)
        let error = onlyError(outcome, "1")
        #expect(error["type"] == "value_not_in_list")
        #expect(error["message"] == "Value not in list")
        #expect(error["details"] == "choice: 'c' not in ['a', 'b']")
        #expect(error["extra_info"] == ["input_name": "choice", "input_config": [["a", "b"]], "received_value": "c"])
    }

    @Test func valueNotInListQuotesNumbersLikePythonStr() throws {
        let outcome = try validate(#"{"1": {"class_type": "Pick", "inputs": {"choice": 5}}}"#)
        #expect(onlyError(outcome, "1")["details"] == "choice: '5' not in ['a', 'b']")
    }

    @Test func valueNotInLongList() throws {
        let outcome = try validate(#"{"4": {"class_type": "BigPick", "inputs": {"choice": "x.safetensors"}}}"#)
        let error = onlyError(outcome, "4")
        #expect(error["details"] == "choice: 'x.safetensors' not in (list of length 25)")
        #expect(error["extra_info"] == ["input_name": "choice", "input_config": .null, "received_value": "x.safetensors"])
        #expect(outcome.error == PromptError(
            type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation",
            details: "Value not in list: choice: 'x.safetensors' not in (list of length 25)"))
    }

    @Test func customValidationFailure() throws {
        let outcome = try validate(#"{"1": {"class_type": "Checked", "inputs": {"name": "bad", "limit": 1}}}"#)
        #expect(onlyError(outcome, "1") == ["type": "custom_validation_failed", "message": "Custom validation failed for node",
                                            "details": "name - must not be bad", "extra_info": ["input_name": "name"]])
    }

    @Test func customValidatorReplacesGenericChecksForItsInputs() throws {
        // `limit` is declared 0…10 but the custom validator covers it.
        let outcome = try validate(#"{"1": {"class_type": "Checked", "inputs": {"name": "good", "limit": 50}}}"#)
        #expect(outcome.isValid)
        #expect(outcome.nodeErrors.isEmpty)
    }

    @Test func dependencyCycle() throws {
        let outcome = try validate("""
            {"1": {"class_type": "Add", "inputs": {"a": ["2", 0], "b": 1}},
             "2": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": 1}},
             "3": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}
            """)
        #expect(outcome.error?.type == "prompt_outputs_failed_validation")
        let one = onlyError(outcome, "1")
        #expect(one["type"] == "dependency_cycle")
        #expect(one["message"] == "Dependency cycle detected")
        #expect(one["details"] == "1 (Add) -> 2 (Add) -> 1 (Add)")
        #expect(one["extra_info"] == ["node_id": "1", "cycle_nodes": ["1", "2"]])
        #expect(onlyError(outcome, "2")["extra_info"]?["node_id"] == "2")
        #expect(outcome.nodeErrors["3"] == nil)
        #expect(outcome.nodeErrors["1"]?["dependent_outputs"] == ["3"])
    }

    @Test func selfLinkIsACycle() throws {
        let outcome = try validate(#"{"1": {"class_type": "Show", "inputs": {"value": ["1", 0]}}, "2": {"class_type": "Pick", "inputs": {"choice": "a"}}}"#)
        // Show has no outputs, so the self-link is a bad slot rather than a cycle; either way node 1 is refused.
        #expect(outcome.nodeErrors["1"] != nil)
        #expect(outcome.goodOutputs == ["2"])

        let cycle = try validate(#"{"1": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": 1}}, "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}"#)
        #expect(onlyError(cycle, "1")["details"] == "1 (Add) -> 1 (Add)")
    }

    // MARK: Aggregation

    @Test func failedOutputsProduceTheNodeErrorsShape() throws {
        let outcome = try validate("""
            {"4": {"class_type": "Number", "inputs": {"value": -5}},
             "5": {"class_type": "Add", "inputs": {"a": ["4", 0], "b": 1}},
             "9": {"class_type": "Show", "inputs": {"value": ["5", 0]}}}
            """)
        #expect(!outcome.isValid)
        #expect(outcome.goodOutputs.isEmpty)
        // Only the node with its own error is listed; 5 and 9 fail only because of 4.
        #expect(outcome.nodeErrors.keys == ["4"])
        #expect(outcome.nodeErrors["4"] == [
            "errors": [["type": "value_smaller_than_min", "message": "Value -5 smaller than min of 0", "details": "value",
                        "extra_info": ["input_name": "value",
                                       "input_config": ["INT", ["default": 0, "min": 0, "max": 1_000_000]],
                                       "received_value": -5]]],
            "dependent_outputs": ["9"],
            "class_type": "Number",
        ])
        #expect(outcome.error == PromptError(type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation",
                                             details: "Value -5 smaller than min of 0: value"))
        #expect(outcome.error?.json.objectValue?.keys == ["type", "message", "details", "extra_info"])
    }

    @Test func topLevelDetailsJoinEveryReasonWithNewlines() throws {
        let outcome = try validate("""
            {"1": {"class_type": "Number", "inputs": {"value": -1}},
             "2": {"class_type": "Widgets", "inputs": {"count": 0, "ratio": 1, "flag": true, "text": "t", "extra": ["1", 0]}},
             "3": {"class_type": "Pick", "inputs": {"choice": "z"}},
             "4": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}
            """)
        #expect(outcome.goodOutputs.isEmpty)
        #expect(outcome.error?.details == """
            Value 0 smaller than min of 1: count
            Value -1 smaller than min of 0: value
            Value not in list: choice: 'z' not in ['a', 'b']
            """)
        #expect(outcome.nodeErrors.keys.sorted() == ["1", "2", "3"])
        #expect(outcome.nodeErrors["1"]?["dependent_outputs"] == ["2", "4"])
    }

    @Test func partialSuccessIsValidWithNodeErrors() throws {
        let outcome = try validate("""
            {"1": {"class_type": "Number", "inputs": {"value": 3}},
             "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}},
             "3": {"class_type": "Number", "inputs": {"value": 2000000}},
             "4": {"class_type": "Show", "inputs": {"value": ["3", 0]}}}
            """)
        #expect(outcome.isValid)
        #expect(outcome.error == nil)
        #expect(outcome.goodOutputs == ["2"])
        #expect(outcome.nodeErrors.keys == ["3"])
        #expect(onlyError(outcome, "3")["message"] == "Value 2000000 bigger than max of 1000000")
        #expect(outcome.nodeErrors["3"]?["dependent_outputs"] == ["4"])
    }

    @Test func partialExecutionTargetsRestrictTheOutputs() throws {
        let json = """
            {"1": {"class_type": "Number", "inputs": {"value": -1}},
             "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}},
             "3": {"class_type": "Pick", "inputs": {"choice": "a"}},
             "4": {"class_type": "Pick", "inputs": {"choice": "b"}}}
            """
        let partial = try validate(json, partialTargets: ["4"])
        #expect(partial.isValid)
        #expect(partial.goodOutputs == ["4"])
        #expect(partial.nodeErrors.isEmpty)

        let all = try validate(json)
        #expect(all.goodOutputs == ["3", "4"])
        #expect(all.nodeErrors.keys == ["1"])
    }

    @Test func nodesNotReachableFromAnOutputAreNotValidated() throws {
        let outcome = try validate(#"{"1": {"class_type": "Number", "inputs": {"value": -1}}, "2": {"class_type": "Pick", "inputs": {"choice": "a"}}}"#)
        #expect(outcome.isValid)
        #expect(outcome.nodeErrors.isEmpty)
    }

    // MARK: Coercion

    @Test func constantsAreCoercedInTheReturnedPrompt() throws {
        let outcome = try validate("""
            {"1": {"class_type": "Widgets", "inputs": {"count": "5", "ratio": "1.5", "flag": "false", "text": 12}},
             "2": {"class_type": "Widgets", "inputs": {"count": 7.9, "ratio": 2, "flag": 0, "text": 1.0}},
             "3": {"class_type": "Widgets", "inputs": {"count": {"__value__": 9}, "ratio": true, "flag": "", "text": null}},
             "4": {"class_type": "Widgets", "inputs": {"count": " 1_0 ", "ratio": " 2.5 ", "flag": {"__value__": []}, "text": true}}}
            """)
        #expect(outcome.isValid)
        #expect(outcome.nodeErrors.isEmpty)
        let inputs = { (id: String) in outcome.prompt[id]!.inputs }
        #expect(inputs("1")["count"] == .int(5))
        #expect(inputs("1")["ratio"] == .double(1.5))
        #expect(inputs("1")["flag"] == .bool(true))  // bool("false") is True in Python
        #expect(inputs("1")["text"] == "12")
        #expect(inputs("2")["count"] == .int(7))
        #expect(inputs("2")["ratio"] == .double(2))
        #expect(inputs("2")["flag"] == .bool(false))
        #expect(inputs("2")["text"] == "1.0")
        #expect(inputs("3")["count"] == .int(9))
        #expect(inputs("3")["ratio"] == .double(1))
        #expect(inputs("3")["flag"] == .bool(false))
        #expect(inputs("3")["text"] == "None")
        #expect(inputs("4")["count"] == .int(10))
        #expect(inputs("4")["ratio"] == .double(2.5))
        #expect(inputs("4")["flag"] == .bool(false))
        #expect(inputs("4")["text"] == "True")
        // The coerced prompt serialises back with the new values.
        #expect(outcome.prompt.json["1"]?["inputs"]?["count"] == 5)
    }

    @Test func wrappedListValuesStayConstants() throws {
        let outcome = try validate("""
            {"1": {"class_type": "Widgets", "inputs": {"count": 1, "ratio": 1, "flag": true, "text": {"__value__": ["a", "b"]},
                                                        "extra": {"__value__": ["7", 0]}}}}
            """)
        #expect(outcome.isValid)
        #expect(outcome.prompt["1"]!.inputs["text"] == "['a', 'b']")
        // A list constant must never turn into something that reads as a link.
        let extra = try #require(outcome.prompt["1"]!.inputs["extra"])
        #expect(Link(extra) == nil)
        #expect(extra["__value__"] == ["7", 0])
    }

    @Test func seedSizedIntegersPassTheMaximum() throws {
        let registry = NodeRegistry([NodeDefinition(schema: NodeSchema(
            name: "Seed", category: "test", isOutputNode: true,
            required: [InputSpec("seed", .int(IntOptions(default: 0, min: 0, max: .uint(UInt64.max))))])) { _ in NodeResult() }])
        let validator = PromptValidator(registry: registry)
        let ok = validator.validate(try apiPrompt(#"{"1": {"class_type": "Seed", "inputs": {"seed": 18446744073709551615}}}"#))
        #expect(ok.isValid)
        #expect(ok.prompt["1"]!.inputs["seed"] == .uint(UInt64.max))
        let fromString = validator.validate(try apiPrompt(#"{"1": {"class_type": "Seed", "inputs": {"seed": "18446744073709551615"}}}"#))
        #expect(fromString.prompt["1"]!.inputs["seed"] == .uint(UInt64.max))
        let negative = validator.validate(try apiPrompt(#"{"1": {"class_type": "Seed", "inputs": {"seed": -1}}}"#))
        #expect(negative.nodeErrors["1"]?["errors"]?.arrayValue?.first?["type"] == "value_smaller_than_min")
    }

    @Test func v3ComboValidatesMembership() throws {
        let registry = NodeRegistry([NodeDefinition(schema: NodeSchema(
            name: "Format", category: "test", isOutputNode: true,
            required: [InputSpec("format", .combo(ComboOptions(["auto", "mp4"], default: "auto", v3Encoding: true)))])) { _ in NodeResult() }])
        let outcome = PromptValidator(registry: registry).validate(try apiPrompt(#"{"1": {"class_type": "Format", "inputs": {"format": "gif"}}}"#))
        let error = try #require(outcome.nodeErrors["1"]?["errors"]?.arrayValue?.first)
        #expect(error["details"] == "format: 'gif' not in ['auto', 'mp4']")
        #expect(error["extra_info"]?["input_config"] == ["COMBO", ["options": ["auto", "mp4"], "default": "auto"]])
    }

    @Test func apiPromptRejectsNonObjects() {
        #expect(throws: PromptError.self) { _ = try APIPrompt(json: [1, 2]) }
        #expect(throws: PromptError.self) { _ = try APIPrompt(json: ["1": "Show"]) }
    }

    @Test func linkParsing() {
        #expect(Link(["4", 0]) == Link(["4", 0]))
        #expect(Link(["4", 1])?.node == "4")
        #expect(Link(["4", 1])?.output == 1)
        #expect(Link([4, 2])?.node == "4")
        #expect(Link(["4"]) == nil)
        #expect(Link(["4", -1]) == nil)
        #expect(Link(["4", "0"]) == nil)
        #expect(Link("4") == nil)
    }
}
