import Foundation
import Testing
import TokenBrokerProtocol

/// The JSON shapes of the contract, compared as parsed JSON.
@Suite("Contract shapes round-trip")
struct ContractShapeTests {
    /// 2026-11-22T12:00:00Z.
    static let noon = Date(timeIntervalSince1970: 1_795_348_800)

    @Test("token/get result, exactly as in the contract")
    func tokenGetResult() throws {
        let contractJSON = try json(#"""
            {"accessToken": "\#(FakeToken.access)", "tokenType": "Bearer", "expiresAt": "2026-11-22T12:00:00Z",
             "scopes": ["files:read", "files:write"], "resource": "https://mcp.example.com/mcp",
             "issuer": "https://auth.example.com"}
            """#)
        let result = try TokenGetResult(jsonValue: contractJSON)
        #expect(result.accessToken.exposedValue == FakeToken.access)
        #expect(result.expiresAt == Self.noon)
        #expect(result.scopes == ["files:read", "files:write"])
        #expect(result.jsonValue == contractJSON)
    }

    @Test("token/get result without a lifetime writes expiresAt as null")
    func tokenGetResultWithoutExpiry() throws {
        let result = TokenGetResult(
            accessToken: AccessToken(FakeToken.access),
            expiresAt: nil,
            scopes: [],
            resource: "https://mcp.example.com/mcp",
            issuer: "https://auth.example.com"
        )
        #expect(result.jsonValue["expiresAt"] == .null)
        #expect(try TokenGetResult(jsonValue: result.jsonValue) == result)
    }

    @Test("expiresAt is UTC with Z and whole seconds")
    func expiresAtFormat() {
        let result = TokenGetResult(
            accessToken: AccessToken(FakeToken.access),
            expiresAt: Self.noon.addingTimeInterval(0.999),
            scopes: [],
            resource: "https://mcp.example.com/mcp",
            issuer: "https://auth.example.com"
        )
        #expect(result.jsonValue["expiresAt"] == "2026-11-22T12:00:00Z")
    }

    @Test("token/get params with every member")
    func tokenGetParamsFull() throws {
        let contractJSON = try json(#"""
            {"resource": "https://mcp.example.com/mcp", "scopes": ["files:write"],
             "challenge": "Bearer error=\"insufficient_scope\", scope=\"files:write\"", "status": 403,
             "rejectedToken": "\#(FakeToken.rejected)", "minValidSeconds": 120, "interactive": false,
             "waitSeconds": 60, "application": "editor-mcp"}
            """#)
        let params = try TokenGetParams(params: contractJSON)
        #expect(
            params
                == TokenGetParams(
                    resource: "https://mcp.example.com/mcp",
                    scopes: ["files:write"],
                    challenge: #"Bearer error="insufficient_scope", scope="files:write""#,
                    status: 403,
                    rejectedToken: AccessToken(FakeToken.rejected),
                    minValidSeconds: 120,
                    interactive: false,
                    waitSeconds: 60,
                    application: "editor-mcp"
                )
        )
        #expect(params.jsonValue == contractJSON)
    }

    @Test("token/get params take the contract's defaults")
    func tokenGetParamsDefaults() throws {
        let params = try TokenGetParams(params: json(#"{"resource": "https://mcp.example.com/mcp"}"#))
        #expect(params.scopes == [])
        #expect(params.minValidSeconds == 30)
        #expect(params.interactive == true)
        #expect(params.waitSeconds == 300)
        #expect(params.challenge == nil && params.status == nil && params.rejectedToken == nil && params.application == nil)
        // null reads as absent, and integral numbers written with a fraction are integers.
        let nulls = try TokenGetParams(params: json(#"""
            {"resource": "https://mcp.example.com/mcp", "scopes": null, "minValidSeconds": null, "interactive": null,
             "waitSeconds": 10.0, "challenge": null}
            """#))
        #expect(nulls == TokenGetParams(resource: "https://mcp.example.com/mcp", waitSeconds: 10))
        #expect(params.exactScopes == false)
        // exactScopes (addition): read, and written only when true.
        let exact = try TokenGetParams(params: json(#"{"resource": "https://a.example", "scopes": ["r"], "exactScopes": true}"#))
        #expect(exact.exactScopes)
        #expect(try TokenGetParams(params: exact.jsonValue) == exact)
        #expect(!params.jsonValue.serializedString.contains("exactScopes"))
        #expect(throws: RPCError.self) {
            try TokenGetParams(params: json(#"{"resource": "https://a.example", "exactScopes": "yes"}"#))
        }
    }

    @Test("grants/list result with and without a pending authorization")
    func grantsList() throws {
        let contractJSON = try json(#"""
            {"grants": [
              {"resource": "https://mcp.example.com/mcp", "issuer": "https://auth.example.com", "clientId": "client-123",
               "requestedScopes": ["files:read", "files:write"], "grantedScopes": ["files:read"],
               "hasAccessToken": true, "accessTokenExpiresAt": "2026-11-22T12:00:00Z", "hasRefreshToken": true,
               "updatedAt": "2026-11-22T11:00:00Z", "pendingAuthorization": null},
              {"resource": "https://other.example.com", "issuer": "https://login.example.org", "clientId": null,
               "requestedScopes": [], "grantedScopes": [], "hasAccessToken": false, "accessTokenExpiresAt": null,
               "hasRefreshToken": false, "updatedAt": "2026-11-22T11:59:59Z",
               "pendingAuthorization": {"authorizationUrl": "https://login.example.org/authorize?client_id=x&state=y",
                                        "scopes": ["mail.read"], "startedAt": "2026-11-22T11:59:30Z"}}
            ]}
            """#)
        let result = try GrantsListResult(jsonValue: contractJSON)
        #expect(result.grants.count == 2)
        #expect(result.grants[0].clientID == "client-123")
        #expect(result.grants[0].accessTokenExpiresAt == Self.noon)
        #expect(result.grants[1].pendingAuthorization?.scopes == ["mail.read"])
        #expect(result.grants[1].pendingAuthorization?.startedAt == Self.noon.addingTimeInterval(-30))
        #expect(result.nextCursor == nil)
        // The contract's shape, plus the paging addition: `nextCursor` is always written.
        var written = contractJSON.objectValue!
        written["nextCursor"] = .null
        #expect(result.jsonValue == .object(written))
        let listing = result.jsonValue.serializedString
        for forbidden in ["accessToken\"", "refreshToken", "code_verifier", "client_secret"] {
            #expect(!listing.contains(forbidden))
        }
    }

    @Test("grants/revoke params: one resource or all", arguments: [
        (#"{"resource": "https://mcp.example.com/mcp"}"#, GrantsRevokeParams.resource("https://mcp.example.com/mcp")),
        (#"{"all": true}"#, .all),
    ])
    func grantsRevokeParams(text: String, expected: GrantsRevokeParams) throws {
        let value = try json(text)
        #expect(try GrantsRevokeParams(params: value) == expected)
        #expect(expected.jsonValue == value)
    }

    @Test("grants/revoke result with every remote outcome")
    func grantsRevokeResult() throws {
        let contractJSON = try json(#"""
            {"revoked": [{"resource": "https://a.example.com/mcp", "remote": "revoked"},
                         {"resource": "https://b.example.com/mcp", "remote": "unsupported"},
                         {"resource": "https://c.example.com/mcp", "remote": "failed"}]}
            """#)
        let result = try GrantsRevokeResult(jsonValue: contractJSON)
        #expect(result.revoked.map(\.remote) == [.revoked, .unsupported, .failed])
        #expect(result.jsonValue == contractJSON)
    }

    @Test("broker/info result")
    func brokerInfo() throws {
        let contractJSON = try json(#"""
            {"version": "0.1.0", "protocolVersion": 1, "pid": 4242, "socket": "/run/user/1000/tokenbroker/socket",
             "database": "/home/alice/.local/state/tokenbroker/broker.sqlite3", "startedAt": "2026-11-22T12:00:00Z"}
            """#)
        let info = try BrokerInfo(jsonValue: contractJSON)
        #expect(info.protocolVersion == BrokerProtocol.version)
        #expect(info.pid == 4242)
        #expect(info.startedAt == Self.noon)
        #expect(info.jsonValue == contractJSON)
    }

    @Test("the protocol version starts at 1")
    func protocolVersion() {
        #expect(BrokerProtocol.version == 1)
    }

    @Test("authorization/pending notification params")
    func authorizationPending() throws {
        let contractJSON = try json(#"""
            {"jsonrpc": "2.0", "method": "authorization/pending",
             "params": {"resource": "https://mcp.example.com/mcp",
                        "authorizationUrl": "https://auth.example.com/authorize?response_type=code&state=s",
                        "scopes": ["files:read"]}}
            """#)
        let notification = try JSONRPCNotification(jsonValue: contractJSON)
        #expect(notification.method == .authorizationPending)
        let params = try AuthorizationPendingParams(params: notification.params)
        #expect(params.authorizationURL == "https://auth.example.com/authorize?response_type=code&state=s")
        #expect(JSONRPCNotification.authorizationPending(params).jsonValue == contractJSON)
    }

    @Test("results travel inside a response and come back typed")
    func resultInResponse() throws {
        let info = BrokerInfo(version: "0.1.0", pid: 1, socket: "/s", database: "/d", startedAt: Self.noon)
        let line = JSONRPCResponse(id: 3, result: info).encodedLine()
        guard case .response(let response) = try BrokerMessage(line: #require(lineBody(line))) else {
            Issue.record("not a response")
            return
        }
        #expect(response.id == 3)
        #expect(try BrokerInfo(jsonValue: #require(response.result)) == info)
    }

    @Test("types also work with Foundation's JSONEncoder and JSONDecoder")
    func codableBridging() throws {
        let result = TokenGetResult(
            accessToken: AccessToken(FakeToken.access),
            expiresAt: Self.noon,
            scopes: ["files:read"],
            resource: "https://mcp.example.com/mcp",
            issuer: "https://auth.example.com"
        )
        let data = try JSONEncoder().encode(result)
        #expect(try JSONValue(parsing: Array(data)) == result.jsonValue)
        #expect(try JSONDecoder().decode(TokenGetResult.self, from: data) == result)
        // Decoding runs the same validation as init(jsonValue:).
        let negative = Data(#"{"resource":"https://mcp.example.com/mcp","waitSeconds":-1}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TokenGetParams.self, from: negative) }
        let both = Data(#"{"resource":"https://mcp.example.com/mcp","all":true}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(GrantsRevokeParams.self, from: both) }
    }
}
