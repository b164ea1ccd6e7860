public import Foundation
public import TokenBrokerCore

/// The outcome of one audited request: a short, stable string.
///
/// Use the named values; ``denied(_:)`` carries a reason such as the wire error's
/// `reason` (`denied:authorization_required`).
public struct AuditOutcome: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The stored string.
    public let rawValue: String

    /// Wraps a stored or custom outcome string.
    ///
    /// - Parameter rawValue: The outcome, e.g. `served`.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// A stored access token was handed out.
    public static let served = AuditOutcome(rawValue: "served")
    /// The access token was refreshed, then handed out.
    public static let refreshed = AuditOutcome(rawValue: "refreshed")
    /// A person signed in, then the new access token was handed out.
    public static let authorized = AuditOutcome(rawValue: "authorized")
    /// The grant's tokens were revoked.
    public static let revoked = AuditOutcome(rawValue: "revoked")
    /// A sign-in was finished with an address pasted by hand (`authorization/complete`).
    public static let completed = AuditOutcome(rawValue: "completed")

    /// The request was refused for `reason`.
    ///
    /// - Parameter reason: A short reason, e.g. `authorization_required`.
    public static func denied(_ reason: String) -> AuditOutcome {
        AuditOutcome(rawValue: "denied:" + reason)
    }

    public var description: String { rawValue }
}

/// One line of the audit log: who asked for what, and what happened. Never a token.
public struct AuditEntry: Sendable, Equatable {
    /// The row id, assigned by ``BrokerStore/appendAudit(_:)``; `nil` before that.
    public var id: Int64?
    /// When the request was answered.
    public var at: Date
    /// The peer's uid (SO_PEERCRED).
    public var peerUID: UInt32
    /// The peer's pid (SO_PEERCRED).
    public var peerPID: Int32
    /// The peer's executable path, when it could be read.
    public var executable: String?
    /// The client's free-text `application` hint, if it sent one.
    public var application: String?
    /// The JSON-RPC method, e.g. `token/get`.
    public var method: String
    /// The resource the request was about, as the client sent it or canonical; `nil` when none.
    public var resource: String?
    /// The scopes the request asked for.
    public var scopes: ScopeSet
    /// What happened.
    public var outcome: AuditOutcome

    /// Creates an entry.
    ///
    /// - Parameters:
    ///   - id: The row id; leave `nil` for a new entry.
    ///   - at: When the request was answered.
    ///   - peerUID: The peer's uid.
    ///   - peerPID: The peer's pid.
    ///   - executable: The peer's executable path, if known.
    ///   - application: The client's application hint, if any.
    ///   - method: The JSON-RPC method.
    ///   - resource: The resource concerned, if any.
    ///   - scopes: The scopes asked for.
    ///   - outcome: What happened.
    public init(
        id: Int64? = nil,
        at: Date,
        peerUID: UInt32,
        peerPID: Int32,
        executable: String? = nil,
        application: String? = nil,
        method: String,
        resource: String? = nil,
        scopes: ScopeSet = [],
        outcome: AuditOutcome
    ) {
        self.id = id
        self.at = at
        self.peerUID = peerUID
        self.peerPID = peerPID
        self.executable = executable
        self.application = application
        self.method = method
        self.resource = resource
        self.scopes = scopes
        self.outcome = outcome
    }
}
