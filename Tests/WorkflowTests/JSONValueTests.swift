import Testing
import Workflow

@Suite struct JSONValueTests {
    @Test func roundTripUsesPythonSeparatorsAndKeepsKeyOrder() throws {
        let text = #"{"b": 1, "a": [true, false, null, "x"], "c": {"z": 1.5, "y": -2, "x": {}}, "d": []}"#
        let value = try JSONValue.parse(text)
        #expect(value.jsonString() == text)
        #expect(value.objectValue?.keys == ["b", "a", "c", "d"])
        #expect(value["c"]?.objectValue?.keys == ["z", "y", "x"])
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test func compactInputRoundTripsThroughPrettyOutput() throws {
        let value = try JSONValue.parse(#"{"k":[1,{"n":null}],"e":{},"s":"t"}"#)
        let pretty = value.jsonString(pretty: true)
        #expect(pretty == """
            {
              "k": [
                1,
                {
                  "n": null
                }
              ],
              "e": {},
              "s": "t"
            }
            """)
        #expect(try JSONValue.parse(pretty) == value)
    }

    @Test func keyOrderSurvivesReassignmentAndRemoval() {
        var object = JSONObject()
        object["z"] = 1
        object["a"] = 2
        object["m"] = 3
        object["z"] = 4
        #expect(object.keys == ["z", "a", "m"])
        object["a"] = nil
        #expect(object.keys == ["z", "m"])
        #expect(object.map(\.key) == ["z", "m"])
        #expect(JSONValue.object(object).jsonString() == #"{"z": 4, "m": 3}"#)
    }

    @Test func largeIntegersStayIntegerLiterals() throws {
        let max = try JSONValue.parse("18446744073709551615")
        #expect(max == .uint(UInt64.max))
        #expect(max.jsonString() == "18446744073709551615")
        #expect(try JSONValue.parse("-9223372036854775808") == .int(Int64.min))
        #expect(try JSONValue.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONValue.parse("9223372036854775808") == .uint(9_223_372_036_854_775_808))
        #expect(try JSONValue.parse(#"{"seed": 18446744073709551615}"#).jsonString() == #"{"seed": 18446744073709551615}"#)
        // Beyond UInt64 it degrades to a double rather than failing.
        #expect(try JSONValue.parse("123456789012345678901234").doubleValue == 1.2345678901234568e23)
    }

    @Test func doublesSerializeLikePython() throws {
        #expect(JSONValue.double(7.0).jsonString() == "7.0")
        #expect(try JSONValue.parse("7.0") == .double(7))
        #expect(try JSONValue.parse("7") == .int(7))
        #expect(JSONValue.double(0.1).jsonString() == "0.1")
        #expect(JSONValue.double(-2.5).jsonString() == "-2.5")
        #expect(JSONValue.double(1e-7).jsonString() == "1e-07")
        #expect(JSONValue.double(1e16).jsonString() == "1e+16")
        #expect(JSONValue.double(.nan).jsonString() == "NaN")
        #expect(JSONValue.double(-.infinity).jsonString() == "-Infinity")
        #expect(try JSONValue.parse("1E3") == .double(1000))
        #expect(try JSONValue.parse("-0.5e-1") == .double(-0.05))
        #expect(try JSONValue.parse("[NaN, Infinity, -Infinity]").jsonString() == "[NaN, Infinity, -Infinity]")
    }

    @Test func unicodeEscapesAndSurrogatePairs() throws {
        #expect(try JSONValue.parse(#""caf\u00e9""#) == "café")
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == "😀")
        #expect(try JSONValue.parse(#""\uD83D\uDE00!""#) == "😀!")
        #expect(try JSONValue.parse(#""\"\\\/\b\f\n\r\t""#) == "\"\\/\u{8}\u{C}\n\r\t")
        // Raw UTF-8 passes through untouched.
        #expect(try JSONValue.parse("\"日本 😀\"") == "日本 😀")
        // Lone surrogates become U+FFFD without swallowing what follows.
        #expect(try JSONValue.parse(#""\ud800""#) == "\u{FFFD}")
        #expect(try JSONValue.parse(#""\ud800x""#) == "\u{FFFD}x")
        #expect(try JSONValue.parse(#""\udc00""#) == "\u{FFFD}")
        #expect(try JSONValue.parse(#""\ud800\u0041""#) == "\u{FFFD}A")
        #expect(try JSONValue.parse(#""\ud800\ud83d\ude00""#) == "\u{FFFD}😀")
    }

    @Test func stringsSerializeWithEscapes() throws {
        let s: JSONValue = .string("a\"b\\c\nd\te\u{1}é😀")
        #expect(s.jsonString() == #""a\"b\\c\nd\te\u0001é😀""#)
        #expect(try JSONValue.parse(s.jsonString()) == s)
    }

    @Test(arguments: [
        "", " ", "[1,", "[1", "{", #"{"a":}"#, #"{"a" 1}"#, #"{"a":1,}"#, "[1,]", "[1] x", "{} {}", "1 2",
        #""abc"#, #""\x""#, #""\u12G4""#, #""\u12""#, "tru", "nul", "-", "1.", "1e", "1e+", ".5", "+1", "01", "-01",
        "\"a\u{1}b\"", "'a'", "[,1]", #"{1: 2}"#, "undefined",
    ])
    func malformedInputThrows(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func depthBombThrowsInsteadOfCrashing() {
        let bomb = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(bomb) }
        let objects = String(repeating: #"{"a":"#, count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(objects) }
    }

    @Test func nestingWithinTheLimitParses() throws {
        let depth = 500
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value = try JSONValue.parse(text)
        var levels = 0
        while case .array(let inner) = value, let first = inner.first { value = first; levels += 1 }
        #expect(levels == depth - 1)
    }

    @Test func parseErrorReportsOffset() {
        do {
            _ = try JSONValue.parse("[1, 2] x")
            Issue.record("expected an error")
        } catch let error as JSONParseError {
            #expect(error.offset == 7)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func accessors() throws {
        let v = try JSONValue.parse(#"{"i": 3, "d": 3.0, "f": 3.5, "s": "x", "b": true, "n": null}"#)
        #expect(v["i"]?.int64Value == 3)
        #expect(v["d"]?.int64Value == 3)
        #expect(v["f"]?.int64Value == nil)
        #expect(v["f"]?.doubleValue == 3.5)
        #expect(v["s"]?.stringValue == "x")
        #expect(v["b"]?.boolValue == true)
        #expect(v["n"]?.isNull == true)
        #expect(v["missing"] == nil)
    }
}
