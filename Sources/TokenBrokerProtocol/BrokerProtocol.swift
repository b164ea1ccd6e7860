/// Constants of the tokenbroker wire protocol that both ends must agree on.
///
/// See `docs/protocol.md` for the full description.
public enum BrokerProtocol {
    /// The version of the wire protocol this library speaks, reported by `broker/info`
    /// as `protocolVersion`.
    ///
    /// It changes only when a change would break an existing client: adding methods,
    /// optional params, result fields or error reasons does not change it.
    public static let version = 1

    /// The longest line either end accepts, in bytes, not counting the terminating `\n`.
    ///
    /// 1 MiB: a token request is a few hundred bytes, so anything close to this is a
    /// misbehaving peer, and the bound keeps one connection from growing the daemon's memory.
    public static let maximumLineLength = 1_048_576
}

/// The tokenbroker release: what `broker/info` reports as `version`, and what
/// `tokenbrokerd --version` and `tokenbroker --version` print.
public enum TokenBrokerVersion {
    /// The current release.
    public static let current = "0.1.0"
}
