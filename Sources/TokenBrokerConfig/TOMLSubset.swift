/// The part of TOML 1.0 the config file uses, parsed strictly: comments, bare and quoted
/// keys, basic and literal strings, integers, booleans, arrays (over several lines, with
/// a trailing comma), `[table]` and `[[array of tables]]`. Anything else (dotted keys,
/// inline tables, floats, dates, multi-line strings) is an error naming its line, as is
/// every malformed input: the parser never traps, and its work is linear in the input.
///
/// Why not a general TOML library: toml++ (inside TOMLKit) asserts, or without assertions
/// assumes, things about malformed input that a fuzzer disproved within seconds, and a
/// damaged config file must never abort the daemon.
///
/// One file (about 400 lines) so the grammar reads top to bottom, as its tests and fuzz target do.
enum TOML {
    /// A value.
    indirect enum Value: Equatable, Sendable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case array([Value])
        case table(Table)

        var string: String? {
            if case .string(let text) = self { return text }
            return nil
        }

        var int: Int? {
            if case .integer(let number) = self { return number }
            return nil
        }

        var bool: Bool? {
            if case .boolean(let flag) = self { return flag }
            return nil
        }

        var array: [Value]? {
            if case .array(let items) = self { return items }
            return nil
        }

        var table: Table? {
            if case .table(let table) = self { return table }
            return nil
        }
    }

    /// A table: keys in the order the document gives them.
    struct Table: Equatable, Sendable, Sequence {
        private(set) var entries: [(key: String, value: Value)] = []

        subscript(key: String) -> Value? { entries.first { $0.key == key }?.value }

        var keys: [String] { entries.map(\.key) }

        func makeIterator() -> IndexingIterator<[(key: String, value: Value)]> { entries.makeIterator() }

        fileprivate mutating func insert(_ key: String, _ value: Value) -> Bool {
            guard self[key] == nil else { return false }
            entries.append((key, value))
            return true
        }

        fileprivate mutating func update(_ key: String, _ change: (inout Value) -> Void) {
            guard let index = entries.firstIndex(where: { $0.key == key }) else { return }
            change(&entries[index].value)
        }

        static func == (lhs: Table, rhs: Table) -> Bool {
            lhs.entries.count == rhs.entries.count && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        }
    }

    /// Why a document was refused, with its line (1-based).
    struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    /// Parses `text` into its root table.
    static func parse(_ text: String) throws(ParseError) -> Table {
        var parser = Parser(Array(text.unicodeScalars))
        return try parser.document()
    }
}

private struct Parser {
    let scalars: [Unicode.Scalar]
    var index = 0
    var line = 1
    var root = TOML.Table()
    /// Where key/value pairs go: nil for the root, else a table name, and for an array of
    /// tables its last element.
    var current: (name: String, inArray: Bool)?
    /// Tables defined by a header, which may not be defined again.
    var definedTables: Set<String> = []

    init(_ scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    func fail(_ message: String) -> TOML.ParseError { TOML.ParseError(line: line, message: message) }

    mutating func document() throws(TOML.ParseError) -> TOML.Table {
        while true {
            skipSpaces()
            guard let scalar = peek else { return root }
            switch scalar {
            case "\n", "\r":
                try newline()
            case "#":
                try comment()
            case "[":
                try header()
            default:
                try keyValue()
            }
        }
    }

    mutating func skipSpaces() {
        while let scalar = peek, scalar == " " || scalar == "\t" { index += 1 }
    }

    mutating func newline() throws(TOML.ParseError) {
        if peek == "\r" {
            index += 1
            guard peek == "\n" else { throw fail("a carriage return must be followed by a line feed") }
        }
        index += 1
        line += 1
    }

    mutating func comment() throws(TOML.ParseError) {
        while let scalar = peek, scalar != "\n" {
            if scalar == "\r", index + 1 < scalars.count, scalars[index + 1] == "\n" { break }
            guard !Self.isControl(scalar) else { throw fail("a comment holds a control character") }
            index += 1
        }
    }

    /// After a value or header: spaces, an optional comment, then the end of the line.
    mutating func endOfLine() throws(TOML.ParseError) {
        skipSpaces()
        if peek == "#" { try comment() }
        guard let scalar = peek else { return }
        guard scalar == "\n" || scalar == "\r" else { throw fail("unexpected \(Self.show(scalar)) after the value") }
        try newline()
    }

    mutating func header() throws(TOML.ParseError) {
        index += 1
        let isArray = peek == "["
        if isArray { index += 1 }
        skipSpaces()
        let name = try key()
        skipSpaces()
        guard peek == "]" else { throw fail("a table header must close with \(isArray ? "]]" : "]") after its one name") }
        index += 1
        if isArray {
            guard peek == "]" else { throw fail("an array of tables must close with ]]") }
            index += 1
        }
        try endOfLine()
        if isArray {
            if let existing = root[name] {
                guard case .array(let items) = existing, items.allSatisfy({ $0.table != nil }), !definedTables.contains(name) else {
                    throw fail("\(name) is already a value or a table, not an array of tables")
                }
                root.update(name) { value in value = .array(items + [.table(TOML.Table())]) }
            } else {
                _ = root.insert(name, .array([.table(TOML.Table())]))
            }
        } else {
            guard root[name] == nil, !definedTables.contains(name) else { throw fail("the table [\(name)] is defined twice") }
            _ = root.insert(name, .table(TOML.Table()))
            definedTables.insert(name)
        }
        current = (name, isArray)
    }

    mutating func keyValue() throws(TOML.ParseError) {
        let name = try key()
        skipSpaces()
        guard peek == "=" else {
            throw fail(peek == "." ? "dotted keys are not supported here" : "expected = after the key \(name)")
        }
        index += 1
        skipSpaces()
        let item = try value(depth: 0)
        try endOfLine()
        try store(name, item)
    }

    mutating func store(_ name: String, _ item: TOML.Value) throws(TOML.ParseError) {
        guard let current else {
            guard root.insert(name, item) else { throw fail("the key \(name) is defined twice") }
            return
        }
        var inserted = true
        root.update(current.name) { container in
            switch container {
            case .table(var table):
                inserted = table.insert(name, item)
                container = .table(table)
            case .array(var items):
                guard case .table(var table) = items.last else { return }
                inserted = table.insert(name, item)
                items[items.count - 1] = .table(table)
                container = .array(items)
            default:
                break
            }
        }
        guard inserted else { throw fail("the key \(name) is defined twice in [\(current.name)]") }
    }

    mutating func key() throws(TOML.ParseError) -> String {
        guard let first = peek else { throw fail("a key was expected at the end of the file") }
        if first == "\"" || first == "'" {
            let name = try string(quote: first)
            guard !name.isEmpty else { throw fail("a key cannot be empty") }
            return name
        }
        var name = String.UnicodeScalarView()
        while let scalar = peek, Self.isBareKey(scalar) {
            name.append(scalar)
            index += 1
        }
        guard !name.isEmpty else { throw fail("a key was expected, not \(Self.show(first))") }
        return String(name)
    }

    /// Arrays nest at most this deep: bounded recursion whatever the input.
    static let maximumDepth = 8

    mutating func value(depth: Int) throws(TOML.ParseError) -> TOML.Value {
        guard let first = peek else { throw fail("a value was expected at the end of the file") }
        switch first {
        case "\"", "'":
            return .string(try string(quote: first))
        case "[":
            guard depth < Self.maximumDepth else { throw fail("arrays nest deeper than \(Self.maximumDepth)") }
            return try array(depth: depth + 1)
        case "{":
            throw fail("inline tables are not supported here; use a [table]")
        case "t", "f":
            return .boolean(try boolean())
        case "+", "-", "0"..."9":
            return .integer(try integer())
        default:
            throw fail("a value was expected, not \(Self.show(first))")
        }
    }

    mutating func array(depth: Int) throws(TOML.ParseError) -> TOML.Value {
        index += 1
        var items: [TOML.Value] = []
        while true {
            try skipBlank()
            guard let scalar = peek else { throw fail("an array is not closed with ]") }
            if scalar == "]" {
                index += 1
                return .array(items)
            }
            items.append(try value(depth: depth))
            try skipBlank()
            guard let next = peek else { throw fail("an array is not closed with ]") }
            if next == "," {
                index += 1
            } else if next != "]" {
                throw fail("expected , or ] in an array, not \(Self.show(next))")
            }
        }
    }

    /// Inside an array: spaces, line breaks and comments.
    mutating func skipBlank() throws(TOML.ParseError) {
        while let scalar = peek {
            switch scalar {
            case " ", "\t": index += 1
            case "\n", "\r": try newline()
            case "#": try comment()
            default: return
            }
        }
    }

    mutating func string(quote: Unicode.Scalar) throws(TOML.ParseError) -> String {
        index += 1
        if peek == quote, index + 1 < scalars.count, scalars[index + 1] == quote {
            throw fail("multi-line strings are not supported here")
        }
        var text = String.UnicodeScalarView()
        while true {
            guard let scalar = peek, scalar != "\n", scalar != "\r" else { throw fail("a string is not closed on its line") }
            index += 1
            if scalar == quote { return String(text) }
            guard !Self.isControl(scalar) || scalar == "\t" else { throw fail("a string holds a control character") }
            if quote == "\"", scalar == "\\" {
                text.append(try escape())
            } else {
                text.append(scalar)
            }
        }
    }

    mutating func escape() throws(TOML.ParseError) -> Unicode.Scalar {
        guard let code = peek else { throw fail("a string ends in an escape") }
        index += 1
        switch code {
        case "b": return "\u{08}"
        case "t": return "\t"
        case "n": return "\n"
        case "f": return "\u{0C}"
        case "r": return "\r"
        case "\"": return "\""
        case "\\": return "\\"
        case "u", "U":
            let count = code == "u" ? 4 : 8
            var number: UInt32 = 0
            for _ in 0..<count {
                guard let digit = peek, let value = Self.hexValue(digit) else { throw fail("\\\(code) needs \(count) hex digits") }
                number = number * 16 + value
                index += 1
            }
            guard let scalar = Unicode.Scalar(number) else { throw fail("\\\(code) names no Unicode scalar") }
            return scalar
        default:
            throw fail("unknown escape \\\(Self.show(code))")
        }
    }

    mutating func boolean() throws(TOML.ParseError) -> Bool {
        for (word, value) in [("true", true), ("false", false)] where matches(word) {
            index += word.unicodeScalars.count
            return value
        }
        throw fail("a value was expected (true or false?)")
    }

    func matches(_ word: String) -> Bool {
        let expected = Array(word.unicodeScalars)
        guard index + expected.count <= scalars.count else { return false }
        return Array(scalars[index..<(index + expected.count)]) == expected
    }

    mutating func integer() throws(TOML.ParseError) -> Int {
        var negative = false
        if peek == "+" || peek == "-" {
            negative = peek == "-"
            index += 1
        }
        var number = 0
        var digits = 0
        var lastWasDigit = false
        while let scalar = peek {
            if let value = Self.hexValue(scalar), value < 10, scalar.isASCII {
                let (times, overflow1) = number.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(Int(value))
                guard !overflow1, !overflow2 else { throw fail("an integer is too large") }
                number = sum
                digits += 1
                lastWasDigit = true
            } else if scalar == "_", lastWasDigit {
                lastWasDigit = false
            } else {
                break
            }
            index += 1
        }
        guard digits > 0, lastWasDigit else { throw fail("malformed integer") }
        if let next = peek, next == "." || next == "e" || next == "E" || next == ":" || next == "-" || next == "x" {
            throw fail("only integers, strings, booleans and arrays are supported here")
        }
        return negative ? -number : number
    }

    static func isBareKey(_ scalar: Unicode.Scalar) -> Bool {
        ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
            || scalar == "-"
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || scalar.value == 0x7F }

    static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "0"..."9": scalar.value - 0x30
        case "a"..."f": scalar.value - 0x61 + 10
        case "A"..."F": scalar.value - 0x41 + 10
        default: nil
        }
    }

    static func show(_ scalar: Unicode.Scalar) -> String {
        isControl(scalar) || !scalar.isASCII ? "U+\(String(scalar.value, radix: 16, uppercase: true))" : "\"\(Character(scalar))\""
    }
}
