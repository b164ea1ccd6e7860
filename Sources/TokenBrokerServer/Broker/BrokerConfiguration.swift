package import TokenBrokerCore

/// How the broker behaves; built from flags and the config file by the executable.
package struct BrokerConfiguration: Sendable {
    /// Which URLs may be contacted (`--allow-http-loopback`).
    package var transportPolicy: TransportPolicy
    /// Operator-configured clients, each bound to its issuer.
    package var preregisteredClients: [PreregisteredClient]
    /// The Client ID Metadata Document URL this installation hosts, if any.
    package var metadataDocumentClientID: String?
    /// How a sign-in URL reaches the person.
    package var browser: BrowserLauncher
    /// `client_name` for dynamic registration.
    package var clientName: String
    /// The loopback callback port to use when no registration pins one; 0 picks a free port.
    package var preferredCallbackPort: Int
    /// How long a started sign-in stays open for a person to finish, in seconds.
    package var signInLifetime: Double
    /// The most one HTTP exchange with a server may take, connect to last byte, in seconds.
    package var exchangeDeadline: Double = 30

    /// Creates a configuration.
    package init(
        transportPolicy: TransportPolicy = .strict, preregisteredClients: [PreregisteredClient] = [],
        metadataDocumentClientID: String? = nil, browser: BrowserLauncher = .none, clientName: String = "tokenbroker",
        preferredCallbackPort: Int = 0, signInLifetime: Double = 900
    ) {
        self.transportPolicy = transportPolicy
        self.preregisteredClients = preregisteredClients
        self.metadataDocumentClientID = metadataDocumentClientID
        self.browser = browser
        self.clientName = clientName
        self.preferredCallbackPort = preferredCallbackPort
        self.signInLifetime = signInLifetime
    }
}
