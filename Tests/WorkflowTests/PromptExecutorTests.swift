import Executor
import Foundation
import Testing
import Workflow

@Suite struct PromptExecutorTests {
    let log = CallLog()
    let executor: PromptExecutor

    init() {
        executor = PromptExecutor(registry: TestNodes.registry(log: log))
    }

    /// 1, 2: numbers; 3 = 1 + 2; 4 shows 3; 5 is dangling; 6 is an output not requested by some tests.
    static func graph(a: Int = 2, b: Int = 3) -> String {
        """
        {"1": {"class_type": "Number", "inputs": {"value": \(a)}},
         "2": {"class_type": "Number", "inputs": {"value": \(b)}},
         "3": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
         "4": {"class_type": "Show", "inputs": {"value": ["3", 0]}},
         "5": {"class_type": "Number", "inputs": {"value": 99}}}
        """
    }

    @Test func runsAncestorsInDependencyOrderWithTheEventSequence() throws {
        let events = EventLog()
        let outcome = try run(Self.graph(), on: executor, events: events)
        #expect(outcome.status == .success)
        #expect(log.entries == ["Number 1", "Number 2", "Add 3", "Show 4"])
        #expect(events.summary == [
            "started", "cached[]", "executing 1", "executing 2", "executing 3", "executing 4",
            #"executed 4 {"text": ["5"]}"#, "succeeded",
        ])
        #expect(outcome.outputs == ["4": ["text": ["5"]]])
        #expect(outcome.meta == ["4": ["node_id": "4", "display_node": "4", "parent_node": nil, "real_node_id": "4"]])
        #expect(executor.cachedEntryCount == 4)
    }

    @Test func onlyRequestedOutputsRun() throws {
        let json = """
            {"1": {"class_type": "Number", "inputs": {"value": 1}},
             "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}},
             "3": {"class_type": "Number", "inputs": {"value": 2}},
             "4": {"class_type": "Show", "inputs": {"value": ["3", 0]}}}
            """
        let prompt = PromptValidator(registry: executor.registry).validate(try apiPrompt(json)).prompt
        let request = ExecutionRequest(promptID: "p", prompt: prompt, outputsToExecute: ["4"], extraPNGInfo: nil)
        let outcome = executor.execute(request, interrupt: InterruptFlag(), emit: { _ in })
        #expect(outcome.status == .success)
        #expect(log.entries == ["Number 3", "Show 4"])
        #expect(outcome.outputs.keys == ["4"])
    }

    @Test func nodesSeeTheirInvocationContext() throws {
        let seen = CallLog()
        let registry = NodeRegistry([NodeDefinition(schema: NodeSchema(
            name: "Probe", category: "test", isOutputNode: true,
            required: [InputSpec("seed", .int(IntOptions(default: 0)))], hidden: [.prompt, .extraPNGInfo])) { inv in
            seen.record("\(inv.context.promptID) \(inv.context.nodeID) \(try inv.int("seed"))")
            seen.record(inv.prompt["7"]?["class_type"]?.stringValue ?? "no prompt")
            seen.record(inv.extraPNGInfo?["workflow"]?.stringValue ?? "no pnginfo")
            return NodeResult()
        }])
        let executor = PromptExecutor(registry: registry)
        let validated = PromptValidator(registry: registry).validate(try apiPrompt(#"{"7": {"class_type": "Probe", "inputs": {"seed": "42"}}}"#))
        let request = ExecutionRequest(promptID: "abc", prompt: validated.prompt, outputsToExecute: validated.goodOutputs,
                                       extraPNGInfo: ["workflow": "wf"])
        #expect(request.promptJSON["7"]?["inputs"]?["seed"] == 42)
        let outcome = executor.execute(request, interrupt: InterruptFlag(), emit: { _ in })
        #expect(outcome.status == .success)
        #expect(outcome.outputs.isEmpty)
        #expect(seen.entries == ["abc 7 42", "Probe", "wf"])
    }

    @Test func secondIdenticalRunIsFullyCached() throws {
        try run(Self.graph(), on: executor)
        log.reset()
        let events = EventLog()
        let outcome = try run(Self.graph(), on: executor, events: events)
        #expect(outcome.status == .success)
        #expect(log.entries.isEmpty)
        #expect(events.summary == ["started", "cached[1,2,3,4]", #"executed 4 {"text": ["5"]}"#, "succeeded"])
        #expect(outcome.outputs == ["4": ["text": ["5"]]])
        #expect(outcome.meta["4"] != nil)
    }

    @Test func cacheIsSharedAcrossNodeIds() throws {
        try run(Self.graph(), on: executor)
        log.reset()
        // Same graph, renumbered: equal signatures hit the cache.
        let renumbered = """
            {"11": {"class_type": "Number", "inputs": {"value": 2}},
             "12": {"class_type": "Number", "inputs": {"value": 3}},
             "13": {"class_type": "Add", "inputs": {"b": ["12", 0], "a": ["11", 0]}},
             "14": {"class_type": "Show", "inputs": {"value": ["13", 0]}}}
            """
        let events = EventLog()
        try run(renumbered, on: executor, events: events)
        #expect(log.entries.isEmpty)
        #expect(events.summary.contains("cached[11,12,13,14]"))
    }

    @Test func hiddenUniqueIDKeepsTheNodeIdInTheSignature() throws {
        let registry = NodeRegistry([NodeDefinition(schema: NodeSchema(
            name: "Tagged", category: "test", isOutputNode: true,
            required: [InputSpec("value", .int(IntOptions(default: 0)))], hidden: [.uniqueID])) { inv in
            log.record("Tagged \(inv.context.nodeID)")
            return NodeResult(ui: ["text": [.string(inv.context.nodeID)]])
        }])
        let executor = PromptExecutor(registry: registry)
        try run(#"{"1": {"class_type": "Tagged", "inputs": {"value": 1}}}"#, on: executor)
        try run(#"{"1": {"class_type": "Tagged", "inputs": {"value": 1}}}"#, on: executor)
        let outcome = try run(#"{"2": {"class_type": "Tagged", "inputs": {"value": 1}}}"#, on: executor)
        #expect(log.entries == ["Tagged 1", "Tagged 2"])
        #expect(outcome.outputs == ["2": ["text": ["2"]]])
    }

    @Test func strayLinksInUndeclaredInputsAreNotFollowed() throws {
        let json = """
            {"1": {"class_type": "Number", "inputs": {"value": 1}},
             "2": {"class_type": "Show", "inputs": {"value": ["1", 0], "junk": ["99", 0], "more": ["3", 0]}},
             "3": {"class_type": "Number", "inputs": {"value": -7}}}
            """
        let outcome = try run(json, on: executor)
        #expect(outcome.status == .success)
        #expect(log.entries == ["Number 1", "Show 2"])
    }

    @Test func outputsToExecuteNamingAMissingNodeDoesNotCrash() throws {
        let prompt = try apiPrompt(#"{"1": {"class_type": "Number", "inputs": {"value": 1}}}"#)
        let request = ExecutionRequest(promptID: "p", prompt: prompt, outputsToExecute: ["9"], extraPNGInfo: nil)
        #expect(executor.execute(request, interrupt: InterruptFlag(), emit: { _ in }).status == .success)
    }

    @Test func changingOneWidgetRerunsThatNodeAndItsDescendantsOnly() throws {
        try run(Self.graph(a: 2, b: 3), on: executor)
        log.reset()
        let events = EventLog()
        let outcome = try run(Self.graph(a: 2, b: 10), on: executor, events: events)
        #expect(log.entries == ["Number 2", "Add 3", "Show 4"])
        #expect(events.summary == [
            "started", "cached[1]", "executing 2", "executing 3", "executing 4", #"executed 4 {"text": ["12"]}"#, "succeeded",
        ])
        #expect(outcome.outputs == ["4": ["text": ["12"]]])

        // Back to the first value: classic caching only remembers the previous prompt.
        log.reset()
        try run(Self.graph(a: 2, b: 3), on: executor)
        #expect(log.entries == ["Number 2", "Add 3", "Show 4"])
    }

    @Test func relinkingInvalidatesDescendants() throws {
        try run(Self.graph(a: 2, b: 3), on: executor)
        log.reset()
        let swapped = Self.graph(a: 2, b: 3).replacingOccurrences(of: #""a": ["1", 0], "b": ["2", 0]"#, with: #""a": ["1", 0], "b": ["1", 0]"#)
        let outcome = try run(swapped, on: executor)
        #expect(log.entries == ["Add 3", "Show 4"])
        #expect(outcome.outputs == ["4": ["text": ["4"]]])
    }

    @Test func nilFingerprintAlwaysReruns() throws {
        let json = """
            {"1": {"class_type": "Volatile", "inputs": {"value": 5}},
             "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}},
             "3": {"class_type": "Number", "inputs": {"value": 1}},
             "4": {"class_type": "Show", "inputs": {"value": ["3", 0]}}}
            """
        try run(json, on: executor)
        #expect(log.entries == ["Volatile 1", "Show 2", "Number 3", "Show 4"])
        log.reset()
        let events = EventLog()
        try run(json, on: executor, events: events)
        #expect(log.entries == ["Volatile 1", "Show 2"])
        #expect(events.summary.contains("cached[3,4]"))
        log.reset()
        try run(json, on: executor)
        #expect(log.entries == ["Volatile 1", "Show 2"])
    }

    @Test func fingerprintValueControlsCaching() throws {
        let token = CallLog()
        let registry = NodeRegistry([
            NodeDefinition(
                schema: NodeSchema(name: "File", category: "test", required: [InputSpec("name", .string(StringOptions()))],
                                   outputs: [OutputSpec("STRING")]),
                fingerprint: { constants in .string("\(constants["name"]?.stringValue ?? "")#\(token.entries.count)") }) { inv in
                log.record("File")
                return NodeResult(outputs: [.string(try inv.string("name"))])
            },
            TestNodes.show(log),
        ])
        let executor = PromptExecutor(registry: registry)
        let json = #"{"1": {"class_type": "File", "inputs": {"name": "a.png"}}, "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}"#
        try run(json, on: executor)
        try run(json, on: executor)
        #expect(log.entries == ["File", "Show 2"])
        token.record("file changed")
        log.reset()
        try run(json, on: executor)
        #expect(log.entries == ["File", "Show 2"])
    }

    @Test func clearCacheRerunsEverything() throws {
        try run(Self.graph(), on: executor)
        executor.clearCache()
        #expect(executor.cachedEntryCount == 0)
        log.reset()
        let events = EventLog()
        try run(Self.graph(), on: executor, events: events)
        #expect(log.entries == ["Number 1", "Number 2", "Add 3", "Show 4"])
        #expect(events.summary[1] == "cached[]")
    }

    @Test func failureStopsThePromptAndReportsTheNode() throws {
        let json = """
            {"1": {"class_type": "Number", "inputs": {"value": 4}},
             "2": {"class_type": "Fail", "inputs": {"value": ["1", 0]}},
             "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}},
             "4": {"class_type": "Number", "inputs": {"value": 5}},
             "5": {"class_type": "Show", "inputs": {"value": ["4", 0]}}}
            """
        let events = EventLog()
        let outcome = try run(json, on: executor, events: events)
        #expect(outcome.status == .failed)
        #expect(log.entries == ["Number 1", "Fail 2"])
        #expect(events.summary == ["started", "cached[]", "executing 1", "executing 2", "failed 2"])
        guard case .failed(let failure) = events.all.last else { Issue.record("no failure event"); return }
        #expect(failure.nodeID == "2")
        #expect(failure.nodeType == "Fail")
        #expect(failure.exceptionMessage == "boom")
        #expect(failure.exceptionType == "test.Boom")
        #expect(failure.executed == ["1"])
        #expect(failure.currentInputs == ["value": [4]])
        #expect(failure.currentOutputs == ["1"])
        #expect(!failure.traceback.isEmpty)
        #expect(outcome.outputs.isEmpty)
    }

    @Test func failureAfterACachedRunListsOnlyWhatRanThisTime() throws {
        let ok = #"{"1": {"class_type": "Number", "inputs": {"value": 4}}, "3": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}"#
        try run(ok, on: executor)
        let failing = """
            {"1": {"class_type": "Number", "inputs": {"value": 4}},
             "3": {"class_type": "Show", "inputs": {"value": ["1", 0]}},
             "6": {"class_type": "Number", "inputs": {"value": 7}},
             "7": {"class_type": "Fail", "inputs": {"value": ["6", 0]}},
             "8": {"class_type": "Show", "inputs": {"value": ["7", 0]}}}
            """
        let events = EventLog()
        let outcome = try run(failing, on: executor, events: events)
        #expect(outcome.status == .failed)
        guard case .failed(let failure) = events.all.last else { Issue.record("no failure event"); return }
        #expect(failure.nodeID == "7")
        #expect(failure.executed == ["6"])
        #expect(Set(failure.currentOutputs) == ["1", "3", "6"])
        // The cached output node's UI still lands in the outcome.
        #expect(outcome.outputs == ["3": ["text": ["4"]]])
    }

    @Test func interruptSetBeforeStart() throws {
        let interrupt = InterruptFlag()
        interrupt.set()
        let events = EventLog()
        let outcome = try run(Self.graph(), on: executor, events: events, interrupt: interrupt)
        #expect(outcome.status == .interrupted)
        #expect(log.entries.isEmpty)
        #expect(events.summary == ["started", "cached[]", "interrupted 1"])
        guard case .interrupted(_, let nodeType, let executed, _) = events.all.last else { Issue.record("no interrupt"); return }
        #expect(nodeType == "Number")
        #expect(executed.isEmpty)
    }

    @Test func interruptFromAnotherThreadStopsASlowNode() async throws {
        let executor = PromptExecutor(registry: TestNodes.registry(log: log, slowStepDelay: 5_000))
        let json = """
            {"1": {"class_type": "Number", "inputs": {"value": 4}},
             "2": {"class_type": "Slow", "inputs": {"value": ["1", 0], "steps": 2000}},
             "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}}
            """
        let validated = PromptValidator(registry: executor.registry).validate(try apiPrompt(json))
        let request = ExecutionRequest(promptID: "p", prompt: validated.prompt, outputsToExecute: validated.goodOutputs, extraPNGInfo: nil)
        let interrupt = InterruptFlag()
        let events = EventLog()
        let outcome: ExecutionOutcome = await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(returning: executor.execute(request, interrupt: interrupt, emit: events.emit))
            }.start()
            // The test's own thread waits for a few progress ticks, then interrupts.
            while !events.summary.contains("progress 2 3/2000") { usleep(1_000) }
            interrupt.set()
        }
        #expect(outcome.status == .interrupted)
        // Stopped early: the node had 2000 steps to go (no wall-clock bound, which load would make flaky).
        let summary = events.summary
        #expect(summary.last == "interrupted 2")
        #expect(!summary.contains("executing 3"))
        #expect(!summary.contains("succeeded"))
        #expect(summary.filter { $0.hasPrefix("progress 2") }.count < 2000)
        guard case .interrupted(_, let nodeType, let executed, _) = events.all.last else { Issue.record("no interrupt"); return }
        #expect(nodeType == "Slow")
        #expect(executed == ["1"])
        #expect(log.entries == ["Number 1", "Slow 2"])
    }

    @Test func progressEventsCarryTheNode() throws {
        let events = EventLog()
        try run(#"{"1": {"class_type": "Slow", "inputs": {"value": 1, "steps": 3}}, "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}"#,
                on: executor, events: events)
        #expect(events.summary == [
            "started", "cached[]", "executing 1", "progress 1 1/3", "progress 1 2/3", "progress 1 3/3", "executing 2",
            #"executed 2 {"text": ["1"]}"#, "succeeded",
        ])
    }

    // MARK: Lists

    @Test func listOutputFeedsANormalNodeOncePerElement() throws {
        let json = """
            {"1": {"class_type": "Range", "inputs": {"count": 3}},
             "2": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": 10}},
             "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}}
            """
        let events = EventLog()
        let outcome = try run(json, on: executor, events: events)
        #expect(log.entries == ["Range 1", "Add 2", "Add 2", "Add 2", "Show 3", "Show 3", "Show 3"])
        // UI dicts of the calls are concatenated per key; one executed event per node.
        #expect(outcome.outputs == ["3": ["text": ["10", "11", "12"]]])
        #expect(events.summary.filter { $0.hasPrefix("executed") } == [#"executed 3 {"text": ["10", "11", "12"]}"#])
    }

    @Test func inputListNodeGetsWholeLists() throws {
        let json = """
            {"1": {"class_type": "Range", "inputs": {"count": 4}},
             "2": {"class_type": "Sum", "inputs": {"values": ["1", 0]}},
             "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}},
             "4": {"class_type": "Sum", "inputs": {"values": 5}},
             "5": {"class_type": "Show", "inputs": {"value": ["4", 0]}}}
            """
        let outcome = try run(json, on: executor)
        #expect(log.entries.filter { $0.hasPrefix("Sum") } == ["Sum 2", "Sum 4"])
        #expect(outcome.outputs == ["3": ["text": ["6"]], "5": ["text": ["5"]]])
    }

    @Test func shorterListsRepeatTheirLastElement() throws {
        let json = """
            {"1": {"class_type": "Range", "inputs": {"count": 3}},
             "2": {"class_type": "Range", "inputs": {"count": 2}},
             "3": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
             "4": {"class_type": "Show", "inputs": {"value": ["3", 0]}}}
            """
        let outcome = try run(json, on: executor)
        // (0, 0), (1, 1), (2, 1)
        #expect(outcome.outputs == ["4": ["text": ["0", "2", "3"]]])
    }

    @Test func emptyListOutputSkipsDownstreamCalls() throws {
        let json = """
            {"1": {"class_type": "Range", "inputs": {"count": 0}},
             "2": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": 1}},
             "3": {"class_type": "Sum", "inputs": {"values": ["2", 0]}},
             "4": {"class_type": "Show", "inputs": {"value": ["3", 0]}}}
            """
        let outcome = try run(json, on: executor)
        #expect(outcome.status == .success)
        #expect(!log.entries.contains("Add 2"))
        #expect(outcome.outputs == ["4": ["text": ["0"]]])
    }

    @Test func wrappedListConstantReachesTheNode() throws {
        let json = """
            {"1": {"class_type": "Widgets", "inputs": {"count": "3", "ratio": 2, "flag": "false", "text": "t",
                                                        "extra": {"__value__": ["7", 0]}}}}
            """
        let outcome = try run(json, on: executor)
        #expect(outcome.status == .success)
        #expect(outcome.outputs == ["1": ["text": ["3", "2.0", "true", "t", #"["7", 0]"#]]])
    }

    @Test func wrongOutputCountIsAnError() throws {
        let registry = NodeRegistry([
            NodeDefinition(schema: NodeSchema(name: "Liar", category: "test", outputs: [OutputSpec("INT"), OutputSpec("INT")])) { _ in
                NodeResult(outputs: [.int(1)])
            },
            TestNodes.show(log),
        ])
        let events = EventLog()
        let outcome = try run(#"{"1": {"class_type": "Liar", "inputs": {}}, "2": {"class_type": "Show", "inputs": {"value": ["1", 1]}}}"#,
                              on: PromptExecutor(registry: registry), events: events)
        #expect(outcome.status == .failed)
        #expect(events.summary.last == "failed 1")
    }
}
