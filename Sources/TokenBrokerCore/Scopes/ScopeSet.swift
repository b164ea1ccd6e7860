/// An ordered set of scopes: union keeps first-seen order, duplicates are dropped by
/// exact string equality.
///
/// Order matters for people and tests, not for OAuth: the space-delimited form the
/// broker sends is stable, so the same state always produces the same request.
package struct ScopeSet: Hashable, Sendable, Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The scopes in first-seen order, without duplicates.
    package private(set) var scopes: [Scope]
    private var members: Set<Scope>

    /// The empty set.
    package init() {
        scopes = []
        members = []
    }

    /// A set of `scopes` in their order, dropping later duplicates.
    package init<S: Sequence>(_ scopes: S) where S.Element == Scope {
        self.init()
        formUnion(scopes)
    }

    package init(arrayLiteral elements: Scope...) {
        self.init(elements)
    }

    /// Parses the space-delimited form of RFC 6749 §3.3.
    ///
    /// Runs of spaces are tolerated (servers are not always tidy); any other character
    /// outside the scope alphabet is an error, so a malformed value never half-applies.
    package init(parsing text: String) throws(ScopeError) {
        self.init()
        for piece in text.split(separator: " ", omittingEmptySubsequences: true) {
            insert(try Scope(validating: String(piece)))
        }
    }

    /// Validates each string as a scope.
    package init(validating strings: [String]) throws(ScopeError) {
        self.init()
        for string in strings {
            insert(try Scope(validating: string))
        }
    }

    /// The space-delimited form, or `""` for the empty set.
    package var spaceDelimited: String { scopes.map(\.rawValue).joined(separator: " ") }

    /// The scope strings in order.
    package var strings: [String] { scopes.map(\.rawValue) }

    package var isEmpty: Bool { scopes.isEmpty }
    package var count: Int { scopes.count }
    package var description: String { "[" + spaceDelimited + "]" }

    package func contains(_ scope: Scope) -> Bool { members.contains(scope) }

    /// True when every scope of `other` is in this set.
    package func isSuperset(of other: ScopeSet) -> Bool { other.members.isSubset(of: members) }

    /// True when every scope of this set is in `other`.
    package func isSubset(of other: ScopeSet) -> Bool { members.isSubset(of: other.members) }

    /// Appends `scope` unless it is already present.
    package mutating func insert(_ scope: Scope) {
        if members.insert(scope).inserted {
            scopes.append(scope)
        }
    }

    /// Appends the scopes of `other` that are not yet present, in their order.
    package mutating func formUnion<S: Sequence>(_ other: S) where S.Element == Scope {
        for scope in other { insert(scope) }
    }

    /// This set followed by the new scopes of `other`.
    package func union<S: Sequence>(_ other: S) -> ScopeSet where S.Element == Scope {
        var result = self
        result.formUnion(other)
        return result
    }

    /// The scopes of this set that are not in `other`, in this set's order.
    package func subtracting(_ other: ScopeSet) -> ScopeSet {
        ScopeSet(scopes.filter { !other.members.contains($0) })
    }

    /// This set without OpenID Connect's identity scopes, for the fallbacks the broker
    /// picks itself (see ``Scope/openIDIdentityScopes``).
    package var withoutOpenIDIdentityScopes: ScopeSet { subtracting(Scope.openIDIdentityScopes) }

    package func makeIterator() -> IndexingIterator<[Scope]> { scopes.makeIterator() }

    /// Order-sensitive: `[a b]` and `[b a]` differ, because the order is what gets sent.
    package static func == (lhs: ScopeSet, rhs: ScopeSet) -> Bool { lhs.scopes == rhs.scopes }

    package func hash(into hasher: inout Hasher) { hasher.combine(scopes) }

    /// True when both sets hold the same scopes, whatever their order.
    package func hasSameMembers(as other: ScopeSet) -> Bool { members == other.members }
}
