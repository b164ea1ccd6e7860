import Testing
import TokenBrokerCore

@Suite struct WWWAuthenticateTests {
    @Test func mcpSDKChallenge() throws {
        let value = #"Bearer error="invalid_token", error_description="Authentication required", resource_metadata="http://127.0.0.1:8001/.well-known/oauth-protected-resource/mcp""#
        let bearer = try #require(try WWWAuthenticate.bearerChallenge(in: value))
        #expect(bearer.error == "invalid_token")
        #expect(bearer.errorDescription == "Authentication required")
        #expect(bearer.resourceMetadata == "http://127.0.0.1:8001/.well-known/oauth-protected-resource/mcp")
        #expect(bearer.scope == nil)
    }

    @Test func djangoOAuthToolkitSendsNoSpaceAfterCommas() throws {
        let value = #"Bearer error="insufficient_scope",error_description="The access token is valid but does not have enough scope.",resource_metadata="http://p/.well-known/oauth-protected-resource/api/files""#
        let bearer = try #require(try WWWAuthenticate.bearerChallenge(in: value))
        #expect(bearer.isInsufficientScope)
        #expect(bearer.errorDescription == "The access token is valid but does not have enough scope.")
        #expect(bearer.resourceMetadata == "http://p/.well-known/oauth-protected-resource/api/files")
    }

    @Test func stepUpChallengeWithScope() throws {
        let value = #"Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="https://rs/.well-known/oauth-protected-resource/mcp""#
        let bearer = try #require(try WWWAuthenticate.bearerChallenge(in: value))
        #expect(bearer.scope?.strings == ["files:read", "files:write"])
    }

    @Test func schemeAndParameterNamesAreCaseInsensitive() throws {
        let bearer = try #require(try WWWAuthenticate.bearerChallenge(in: #"BEARER Error="insufficient_scope", SCOPE="a""#))
        #expect(bearer.error == "insufficient_scope")
        #expect(bearer.scope?.strings == ["a"])
    }

    @Test func severalChallengesInOneValueAndAcrossLines() throws {
        let rfcExample = #"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#
        let challenges = try WWWAuthenticate.parse(rfcExample)
        #expect(challenges.map(\.scheme) == ["newauth", "basic"])
        #expect(challenges[0].parameter("type") == "1")
        #expect(challenges[0].parameter("title") == #"Login to "apps""#)
        #expect(challenges[1].parameter("realm") == "simple")

        let lines = [#"Basic realm="x""#, #"DPoP algs="ES256", Bearer scope="s", resource_metadata="https://a/b""#]
        let joined = try WWWAuthenticate.parse(fields: lines)
        #expect(joined.map(\.scheme) == ["basic", "dpop", "bearer"])
        #expect(try WWWAuthenticate.bearerChallenge(in: lines.joined(separator: ", "))?.resourceMetadata == "https://a/b")
    }

    @Test func token68AndBareSchemes() throws {
        let challenges = try WWWAuthenticate.parse("Basic dXNlcjpwYXNz==, Bearer, Negotiate abc=")
        #expect(challenges.count == 3)
        #expect(challenges[0].token68 == "dXNlcjpwYXNz==")
        #expect(challenges[1].scheme == "bearer")
        #expect(challenges[1].parameters.isEmpty)
        #expect(challenges[2].token68 == "abc=")
    }

    @Test func unquotedURLValueIsReadLeniently() throws {
        let bearer = try #require(try WWWAuthenticate.bearerChallenge(in: "Bearer resource_metadata=https://rs.example/.well-known/oauth-protected-resource, error=invalid_token"))
        #expect(bearer.resourceMetadata == "https://rs.example/.well-known/oauth-protected-resource")
        #expect(bearer.error == "invalid_token")
    }

    @Test func noBearerChallengeIsNil() throws {
        #expect(try WWWAuthenticate.bearerChallenge(in: #"Basic realm="x""#) == nil)
        #expect(try WWWAuthenticate.bearerChallenge(in: "") == nil)
    }

    @Test func emptyScopeMeansNoScopeInformation() throws {
        #expect(try WWWAuthenticate.bearerChallenge(in: #"Bearer scope="""#)?.scope == nil)
    }

    @Test(arguments: [
        (#"Bearer error="unterminated"#, ChallengeParseError.Kind.unterminatedQuotedString),
        ("Bearer error=\"a\u{0}b\"", .invalidCharacter),
        ("Bearer error=\"line\nbreak\"", .invalidCharacter),
        (#"Bearer scope="a", scope="b""#, .duplicateParameter("scope")),
        (#"Bearer scope="caf\#u{E9}""#, .invalidScope),
        (#"error="x""#, .expectedScheme),
        (#"Bearer error="a", scope="#, .expectedParameterValue),
        (#"Bearer error="a", scope=, b="c""#, .expectedParameterValue),
        (#"Bearer "quoted""#, .expectedScheme),
        (#"Bearer error="x\"#, .unterminatedQuotedString),
    ])
    func malformedValuesAreErrors(_ value: String, _ kind: ChallengeParseError.Kind) {
        #expect {
            _ = try WWWAuthenticate.bearerChallenge(in: value)
        } throws: { error in
            (error as? ChallengeParseError)?.kind == kind
        }
    }

    @Test func hostileSizesAreRefusedOrParsedInOnePass() throws {
        let huge = "Bearer error=\"" + String(repeating: "a", count: 1 << 20) + "\""
        #expect(throws: ChallengeParseError(.tooLong, at: WWWAuthenticate.maximumLength)) {
            try WWWAuthenticate.parse(huge)
        }
        // Just under the limit: a long quoted value and thousands of parameters parse.
        let long = "Bearer error=\"" + String(repeating: "\\\"", count: 30_000) + "\""
        #expect(try WWWAuthenticate.parse(long).first?.parameter("error")?.count == 30_000)
        let many = "Bearer " + (0..<5_000).map { "p\($0)=v" }.joined(separator: ",")
        #expect(try WWWAuthenticate.parse(many).first?.parameters.count == 5_000)
        let commas = String(repeating: ",", count: 60_000)
        #expect(try WWWAuthenticate.parse(commas).isEmpty)
        let nested = String(repeating: "Bearer a=\"(\", ", count: 3_000)
        #expect(try WWWAuthenticate.parse(nested).count == 3_000)
    }

    @Test func errorDescriptionsCarryNoInputText() throws {
        let secretish = "Bearer error=\"sk-live-SECRET" + "\u{1}\""
        do {
            _ = try WWWAuthenticate.parse(secretish)
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("SECRET"))
        }
    }
}
