@main
struct TokenBrokerDaemon {
    static func main() {}
}
