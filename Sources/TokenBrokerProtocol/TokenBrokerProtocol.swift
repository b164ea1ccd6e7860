// The wire protocol of tokenbrokerd; see docs/protocol.md.
