#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The params of `audit/list`: how many of the most recent entries to return.
public struct AuditListParams: BrokerParams, Hashable {
    /// The `limit` when none is given.
    public static let defaultLimit = 50
    /// The largest `limit` accepted.
    public static let maximumLimit = 1000

    /// `limit`: at most this many entries, newest first.
    public var limit: Int

    /// Creates params.
    public init(limit: Int = AuditListParams.defaultLimit) {
        self.limit = limit
    }

    /// Reads the params; absent params mean the default limit.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(limit: try object.optionalInteger("limit", in: 1...Self.maximumLimit) ?? Self.defaultLimit)
    }

    /// `{"limit": n}`.
    public var jsonValue: JSONValue { ["limit": .integer(limit)] }
}

/// The result of `audit/list`: which local process got which token, when. Never a token.
public struct AuditListResult: JSONValueConvertible, Hashable {
    /// `entries`, newest first.
    public var entries: [AuditRecord]

    /// Creates a result.
    public init(entries: [AuditRecord]) {
        self.entries = entries
    }

    /// Reads the result.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        self.init(entries: try JSONObjectReader(jsonValue).array(of: AuditRecord.self, "entries"))
    }

    /// `{"entries": [...]}`.
    public var jsonValue: JSONValue { ["entries": .array(entries.map(\.jsonValue))] }
}

/// One audit line: a request from a local process and what the daemon did with it.
public struct AuditRecord: JSONValueConvertible, Hashable {
    /// `at`: when.
    public var at: Date
    /// `uid`, `pid`: the peer's credentials (SO_PEERCRED).
    public var uid: Int
    public var pid: Int
    /// `executable`: the peer's program, when it could be read.
    public var executable: String?
    /// `application`: the client's own hint, if it sent one.
    public var application: String?
    /// `method`: the method it called.
    public var method: String
    /// `resource`: the resource it concerned, if any.
    public var resource: String?
    /// `scopes`: the scopes served or asked for.
    public var scopes: [String]
    /// `outcome`: `served`, `refreshed`, `authorized`, `revoked`, `completed`, or `denied:<reason>`.
    public var outcome: String

    /// Creates a record.
    public init(
        at: Date, uid: Int, pid: Int, executable: String?, application: String?, method: String, resource: String?,
        scopes: [String], outcome: String
    ) {
        self.at = at
        self.uid = uid
        self.pid = pid
        self.executable = executable
        self.application = application
        self.method = method
        self.resource = resource
        self.scopes = scopes
        self.outcome = outcome
    }

    /// Reads a record.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            at: try object.timestamp("at"), uid: try object.integer("uid"), pid: try object.integer("pid"),
            executable: try object.optionalString("executable"), application: try object.optionalString("application"),
            method: try object.string("method"), resource: try object.optionalString("resource"),
            scopes: try object.optionalStringArray("scopes") ?? [], outcome: try object.string("outcome"))
    }

    /// The record object; every member is present, `null` where there is no value.
    public var jsonValue: JSONValue {
        [
            "at": .string(WireTimestamp.string(from: at)),
            "uid": .integer(uid),
            "pid": .integer(pid),
            "executable": executable.map(JSONValue.string) ?? .null,
            "application": application.map(JSONValue.string) ?? .null,
            "method": .string(method),
            "resource": resource.map(JSONValue.string) ?? .null,
            "scopes": .array(scopes.map(JSONValue.string)),
            "outcome": .string(outcome),
        ]
    }
}
