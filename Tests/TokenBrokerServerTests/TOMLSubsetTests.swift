import Testing
@testable import TokenBrokerConfig

/// The config file's TOML parser: the subset it takes, read as TOML 1.0 reads it, and a
/// clear error with the line for everything else.
@Suite struct TOMLSubsetTests {
    @Test func theSubsetTheConfigUses() throws {
        let table = try TOML.parse(
            """
            # comment
            browser_command = [ "firefox",   # the first
              'new "window"',
            ]
            allow_http_loopback = true
            callback_port = 8_080
            "quoted key" = "tab\\there \\u00e9 \\U0001F600"
            empty = []

            [[client]]
            issuer = "https://as.example"   # trailing comment
            [[client]]
            issuer = "https://other.example"\r
            [client_metadata]
            client_id = "https://example.com/c.json"
            """)
        #expect(table.keys == ["browser_command", "allow_http_loopback", "callback_port", "quoted key", "empty", "client", "client_metadata"])
        #expect(table["browser_command"] == .array([.string("firefox"), .string("new \"window\"")]))
        #expect(table["allow_http_loopback"]?.bool == true)
        #expect(table["callback_port"]?.int == 8080)
        #expect(table["quoted key"]?.string == "tab\there é 😀")
        #expect(table["empty"]?.array == [])
        let clients = try #require(table["client"]?.array)
        #expect(clients.compactMap { $0.table?["issuer"]?.string } == ["https://as.example", "https://other.example"])
        #expect(table["client_metadata"]?.table?["client_id"]?.string == "https://example.com/c.json")
    }

    @Test(arguments: [
        ("a = 1\na = 2", "line 2: the key a is defined twice"),
        ("[t]\n[t]", "line 2: the table [t] is defined twice"),
        ("a.b = 1", "line 1: dotted keys are not supported here"),
        ("a = {b = 1}", "line 1: inline tables are not supported here; use a [table]"),
        ("a = 1.5", "line 1: only integers, strings, booleans and arrays are supported here"),
        ("a = 1979-05-27", "line 1: only integers, strings, booleans and arrays are supported here"),
        ("a = \"\"\"x\"\"\"", "line 1: multi-line strings are not supported here"),
        ("a = \"open", "line 1: a string is not closed on its line"),
        ("a = [1,\n2", "line 2: an array is not closed with ]"),
        ("a = 99999999999999999999", "line 1: an integer is too large"),
        ("a = 1_", "line 1: malformed integer"),
        ("a = \"\\q\"", "line 1: unknown escape \\\"q\""),
        ("a = \"\\uD800\"", "line 1: \\u names no Unicode scalar"),
        ("a = 1 b = 2", "line 1: unexpected \"b\" after the value"),
        ("[[[client]]", "line 1: a key was expected, not \"[\""),
        ("[ ]", "line 1: a key was expected, not \"]\""),
        ("a = [[[[[[[[[1]]]]]]]]]", "line 1: arrays nest deeper than 8"),
        ("a = 1\r", "line 1: a carriage return must be followed by a line feed"),
        ("[t]\nx = 1\n[[t]]", "line 3: t is already a value or a table, not an array of tables"),
        ("= 1", "line 1: a key was expected, not \"=\""),
        ("a = tru", "line 1: a value was expected (true or false?)"),
    ])
    func malformedInputIsAnErrorWithItsLine(text: String, expected: String) {
        #expect(throws: TOML.ParseError.self) { try TOML.parse(text) }
        do {
            _ = try TOML.parse(text)
        } catch {
            #expect(error.description == expected)
        }
    }
}
