public import WarrenICENIO
internal import WarrenPrimitives

extension Gatherer.TURNServer {
  /// From a `turn:` or `turns:` URL and the credentials to use with it; `nil` for other URLs.
  public init?(_ url: ICEServerURL, username: String, password: String) {
    let transport: RelayTransport
    switch (url.scheme, url.transport) {
    case (.turn, "tcp"): transport = .tcp
    case (.turn, _): transport = .udp
    case (.turns, _): transport = .tls(serverName: TransportAddress.IP(url.host) == nil ? url.host : nil, verify: !url.skipVerify)
    default: return nil
    }
    self.init(host: url.host, port: UInt16(url.port), username: username, password: password, transport: transport)
  }
}
