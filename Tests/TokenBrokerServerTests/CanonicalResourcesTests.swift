import Testing
import TokenBrokerCore
@testable import TokenBrokerServer

/// The resource URLs a cache hit no longer parses again: the same answer as parsing,
/// refusals not remembered, and a bounded memory.
@Suite struct CanonicalResourcesTests {
    let policy = TransportPolicy(allowsHTTPLoopback: false)

    @Test func rememberedAsParsed() throws {
        let resources = CanonicalResources()
        for raw in ["https://MCP.Example.com:443/a/./b/../mcp", "https://mcp.example.com/mcp"] {
            let first = try resources.canonical(raw, policy: policy)
            #expect(first == (try ResourceURI(raw, policy: policy)))
            #expect(try resources.canonical(raw, policy: policy) == first)
        }
    }

    @Test func aRefusedURLIsRefusedEachTime() {
        let resources = CanonicalResources()
        for _ in 0..<2 {
            #expect(throws: ResourceURIError.self) { try resources.canonical("http://mcp.example.com/mcp", policy: policy) }
        }
    }

    /// A long URL is parsed each time, not kept: the memory stays small however long
    /// the URLs a client sends.
    @Test func aLongURLIsNotRemembered() throws {
        let resources = CanonicalResources()
        let long = "https://mcp.example.com/" + String(repeating: "a", count: resources.longestRemembered)
        #expect(try resources.canonical(long, policy: policy) == (try ResourceURI(long, policy: policy)))
        #expect(resources.count == 0)
    }

    @Test func everNewURLsStayWithinTheCapacity() throws {
        let resources = CanonicalResources()
        for index in 0..<(resources.capacity * 2 + 1) {
            _ = try resources.canonical("https://mcp.example.com/\(index)", policy: policy)
        }
        #expect(resources.count <= resources.capacity)
        #expect(resources.count > 0)
    }
}
