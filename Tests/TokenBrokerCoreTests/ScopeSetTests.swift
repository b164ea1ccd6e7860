import Testing
import TokenBrokerCore

@Suite struct ScopeSetTests {
    @Test func unionKeepsFirstSeenOrderAndDropsExactDuplicates() throws {
        let first = try ScopeSet(parsing: "files:read files:write")
        let second = try ScopeSet(parsing: "admin files:write Files:Write")
        #expect(first.union(second).strings == ["files:read", "files:write", "admin", "Files:Write"])
    }

    @Test func parsingToleratesRunsOfSpacesAndPrintsCanonically() throws {
        let scopes = try ScopeSet(parsing: "  a   b a  ")
        #expect(scopes.strings == ["a", "b"])
        #expect(scopes.spaceDelimited == "a b")
        #expect(try ScopeSet(parsing: "").isEmpty)
    }

    @Test(arguments: ["a\"b", "a\\b", "tab\there", "caf\u{E9}", "nul\u{0}", "new\nline", "del\u{7F}"])
    func parsingRejectsCharactersOutsideRFC6749(_ text: String) {
        #expect(throws: ScopeError.invalidScope(text)) {
            try ScopeSet(parsing: text)
        }
    }

    @Test func everyAllowedCharacterIsAccepted() throws {
        let allowed = (0x21...0x7E).filter { $0 != 0x22 && $0 != 0x5C }.map { Character(UnicodeScalar(UInt8($0))) }
        let scope = try Scope(validating: String(allowed))
        #expect(scope.rawValue.count == 92)
    }

    @Test func subsetSupersetAndSubtractionIgnoreOrder() throws {
        let big = try ScopeSet(parsing: "c a b")
        let small = try ScopeSet(parsing: "b a")
        #expect(big.isSuperset(of: small))
        #expect(small.isSubset(of: big))
        #expect(!small.isSuperset(of: big))
        #expect(big.subtracting(small).strings == ["c"])
        #expect(try big != ScopeSet(parsing: "a b c"))
        #expect(big.hasSameMembers(as: try ScopeSet(parsing: "a b c")))
    }

    @Test func errorMessagesShortenHostileInput() {
        let hostile = String(repeating: "x", count: 10_000) + "\""
        let message = ScopeError.invalidScope(hostile).description
        #expect(message.count < 300)
    }
}
