package import Foundation
package import TokenBrokerCore

/// The outcome of one audited request: a short, stable string.
///
/// Use the named values; ``denied(_:)`` carries a reason such as the wire error's
/// `reason` (`denied:authorization_required`).
package struct AuditOutcome: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The stored string.
    package let rawValue: String

    /// Wraps a stored or custom outcome string.
    ///
    /// - Parameter rawValue: The outcome, e.g. `served`.
    package init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// A stored access token was handed out.
    package static let served = AuditOutcome(rawValue: "served")
    /// The access token was refreshed, then handed out.
    package static let refreshed = AuditOutcome(rawValue: "refreshed")
    /// A person signed in, then the new access token was handed out.
    package static let authorized = AuditOutcome(rawValue: "authorized")
    /// The grant's tokens were revoked.
    package static let revoked = AuditOutcome(rawValue: "revoked")
    /// A sign-in was finished with an address pasted by hand (`authorization/complete`).
    package static let completed = AuditOutcome(rawValue: "completed")

    /// The request was refused for `reason`.
    ///
    /// - Parameter reason: A short reason, e.g. `authorization_required`.
    package static func denied(_ reason: String) -> AuditOutcome {
        AuditOutcome(rawValue: "denied:" + reason)
    }

    package var description: String { rawValue }
}

/// One line of the audit log: who asked for what, and what happened. Never a token.
package struct AuditEntry: Sendable, Equatable {
    /// The row id, assigned by ``BrokerStore/appendAudit(_:)``; `nil` before that.
    package var id: Int64?
    /// When the request was answered.
    package var at: Date
    /// The peer's uid (SO_PEERCRED).
    package var peerUID: UInt32
    /// The peer's pid (SO_PEERCRED).
    package var peerPID: Int32
    /// The peer's executable path, when it could be read.
    package var executable: String?
    /// The client's free-text `application` hint, if it sent one.
    package var application: String?
    /// The JSON-RPC method, e.g. `token/get`.
    package var method: String
    /// The resource the request was about, as the client sent it or canonical; `nil` when none.
    package var resource: String?
    /// The scopes the request asked for.
    package var scopes: ScopeSet
    /// What happened.
    package var outcome: AuditOutcome

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
    package init(
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
