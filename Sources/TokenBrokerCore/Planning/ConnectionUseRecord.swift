/// What one client connection's answers show about the tokens it was given.
///
/// The broker never sees the MCP request a token is used for. Its one sign of a
/// successful use: a connection that was served a token for a resource, without
/// reporting a challenge, asks for that resource again without reporting one (the
/// client moved on). It must be the same connection: requests of other clients, or of
/// one-shot helpers, say nothing about this one's token, and counting them would let a
/// server that refuses every token keep reopening the browser.
package struct ConnectionUseRecord: Sendable {
    /// Resources remembered per connection; past it the memory starts over (forgetting
    /// only delays a ledger reset, never causes one).
    package static let maximumResources = 32

    private var servedWithoutChallenge: [ResourceURI: Bool] = [:]

    /// A connection that has asked for nothing yet.
    package init() {}

    /// Records how a token request for `resource` on this connection was answered:
    /// `served` when it got a token and reported no challenge. Returns whether this shows
    /// a successful use (``StepUpLedger/noteConfirmedUse()``).
    package mutating func noteAnswer(for resource: ResourceURI, served: Bool) -> Bool {
        if servedWithoutChallenge[resource] == nil, servedWithoutChallenge.count >= Self.maximumResources {
            servedWithoutChallenge.removeAll(keepingCapacity: true)
        }
        let previous = servedWithoutChallenge.updateValue(served, forKey: resource) ?? false
        return served && previous
    }
}
