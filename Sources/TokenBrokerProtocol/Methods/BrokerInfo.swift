#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The result of `broker/info`: which daemon answers and where its files are.
public struct BrokerInfo: JSONValueConvertible, Hashable {
    /// `version`: the daemon's release version.
    public var version: String
    /// `protocolVersion`: the wire protocol version, ``BrokerProtocol/version`` for this library.
    public var protocolVersion: Int
    /// `pid`: the daemon's process id.
    public var pid: Int
    /// `socket`: the path of the socket it listens on.
    public var socket: String
    /// `database`: the path of its database.
    public var database: String
    /// `startedAt`: when it started.
    public var startedAt: Date

    /// Creates the info.
    ///
    /// - Parameters:
    ///   - version: The daemon's release version.
    ///   - protocolVersion: The wire protocol version.
    ///   - pid: The daemon's process id.
    ///   - socket: The socket path.
    ///   - database: The database path.
    ///   - startedAt: When the daemon started.
    public init(
        version: String,
        protocolVersion: Int = BrokerProtocol.version,
        pid: Int,
        socket: String,
        database: String,
        startedAt: Date
    ) {
        self.version = version
        self.protocolVersion = protocolVersion
        self.pid = pid
        self.socket = socket
        self.database = database
        self.startedAt = startedAt
    }

    /// Reads the info.
    ///
    /// - Parameter jsonValue: The result object.
    /// - Throws: ``WireFormatError`` naming the bad member.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            version: try object.string("version"),
            protocolVersion: try object.integer("protocolVersion", in: 1...Int.max),
            pid: try object.integer("pid"),
            socket: try object.string("socket"),
            database: try object.string("database"),
            startedAt: try object.timestamp("startedAt")
        )
    }

    /// `{"version", "protocolVersion", "pid", "socket", "database", "startedAt"}`.
    public var jsonValue: JSONValue {
        [
            "version": .string(version),
            "protocolVersion": .integer(protocolVersion),
            "pid": .integer(pid),
            "socket": .string(socket),
            "database": .string(database),
            "startedAt": .string(WireTimestamp.string(from: startedAt)),
        ]
    }
}
