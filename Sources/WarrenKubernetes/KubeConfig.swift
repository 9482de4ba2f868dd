internal import Foundation
internal import NIOSSL
public import WarrenYAML
internal import Yams

/// Reads a kubeconfig file the way kubectl does for one file: the current context, its cluster
/// (`server`, `certificate-authority(-data)`, `insecure-skip-tls-verify`) and its user (`token`,
/// `tokenFile`, `client-certificate(-data)` with `client-key(-data)`). Relative file names are
/// relative to the kubeconfig's directory. Unknown keys are ignored, as kubectl ignores them; what
/// Warren cannot do (exec plugins, auth providers, basic auth, proxies) is an error naming the field.
public enum KubeConfig {
  /// `$KUBECONFIG` (its first file), or `~/.kube/config`.
  public static func defaultPath(environment: [String: String]? = nil) -> String {
    let environment = environment ?? ProcessInfo.processInfo.environment
    if let list = environment["KUBECONFIG"], let first = list.split(separator: ":").first, !first.isEmpty {
      return String(first)
    }
    return "\(environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path)/.kube/config"
  }

  public static func load(path: String) throws(ConfigurationError) -> KubernetesConnection {
    let (reader, root) = try YAMLReader.load(path: path)
    return try reader.kubeConfig(root, directory: (path as NSString).deletingLastPathComponent)
  }

  /// `text` as a kubeconfig; `file` names it in errors and relative paths start at `directory`.
  public static func parse(_ text: String, file: String, directory: String) throws(ConfigurationError) -> KubernetesConnection {
    let reader = YAMLReader(file: file)
    return try reader.kubeConfig(try reader.parse(text), directory: directory)
  }
}

extension YAMLReader {
  fileprivate func kubeConfig(_ root: Node, directory: String) throws(ConfigurationError) -> KubernetesConnection {
    var current: String?
    var lists: [String: Node] = [:]
    for (name, _, value) in try mapping(root, "", known: []) {
      switch name {
      case "current-context": current = try string(value, name)
      case "contexts", "clusters", "users": lists[name] = value
      default: break
      }
    }
    guard let current, !current.isEmpty else { throw error(root, "current-context", "missing: no context is selected") }
    let context = try entry(named: current, in: lists["contexts"], list: "contexts", item: "context", root: root)
    var clusterName: String?
    var userName: String?
    var namespace: String?
    for (name, _, value) in try mapping(context.node, context.field, known: []) {
      switch name {
      case "cluster": clusterName = try string(value, "\(context.field).cluster")
      case "user": userName = try string(value, "\(context.field).user")
      case "namespace": namespace = try string(value, "\(context.field).namespace")
      default: break
      }
    }
    guard let clusterName else { throw error(context.node, "\(context.field).cluster", "missing") }
    let cluster = try entry(named: clusterName, in: lists["clusters"], list: "clusters", item: "cluster", root: root)
    var connection = try self.cluster(cluster.node, cluster.field, directory: directory)
    connection.namespace = namespace.flatMap { $0.isEmpty ? nil : $0 }
    if let userName, !userName.isEmpty {
      let user = try entry(named: userName, in: lists["users"], list: "users", item: "user", root: root)
      connection.authentication = try self.user(user.node, user.field, directory: directory)
    }
    return connection
  }

  /// The `item` mapping of the entry of `list` whose `name` is `name`.
  private func entry(
    named name: String, in node: Node?, list: String, item: String, root: Node
  ) throws(ConfigurationError) -> (node: Node, field: String) {
    guard let node else { throw error(root, list, "missing: '\(name)' is not defined") }
    guard let sequence = node.sequence else { throw error(node, list, "expected a list") }
    for element in sequence {
      var entryName: String?
      var body: Node?
      for (key, _, value) in try mapping(element, list, known: []) {
        if key == "name" { entryName = try string(value, "\(list).name") }
        if key == item { body = value }
      }
      guard entryName == name else { continue }
      let field = "\(list)[\(name)].\(item)"
      guard let body else { throw error(element, field, "missing") }
      return (body, field)
    }
    throw error(node, list, "no entry named '\(name)'")
  }

  private func cluster(_ node: Node, _ field: String, directory: String) throws(ConfigurationError) -> KubernetesConnection {
    var server: String?
    var ca: [UInt8]?
    var insecure = false
    for (name, keyNode, value) in try mapping(node, field, known: []) {
      let path = "\(field).\(name)"
      switch name {
      case "server":
        let text = try string(value, path)
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["https", "http"].contains(scheme),
          url.host?.isEmpty == false
        else { throw error(value, path, "expected https://HOST[:PORT], got '\(text)'") }
        server = text
      case "certificate-authority-data":
        ca = try certificates(base64: value, path)
      case "certificate-authority":
        if ca == nil { ca = try certificates(file: value, path, directory: directory) }
      case "insecure-skip-tls-verify":
        insecure = try bool(value, path)
      case "proxy-url":
        throw error(keyNode, path, "proxies are not supported")
      default: break
      }
    }
    guard let server else { throw error(node, "\(field).server", "missing") }
    if insecure && ca != nil {
      throw error(node, "\(field).insecure-skip-tls-verify", "cannot be true together with a certificate authority")
    }
    return KubernetesConnection(server: server, certificateAuthorityPEM: ca, insecureSkipTLSVerify: insecure)
  }

  private func user(
    _ node: Node, _ field: String, directory: String
  ) throws(ConfigurationError) -> KubernetesConnection.Authentication {
    var token: String?
    var tokenFile: String?
    var certificate: ([UInt8], Node)?
    var key: ([UInt8], Node)?
    for (name, keyNode, value) in try mapping(node, field, known: []) {
      let path = "\(field).\(name)"
      switch name {
      case "token": token = try string(value, path)
      case "tokenFile": tokenFile = absolute(try string(value, path), directory: directory)
      case "client-certificate-data": certificate = (try certificates(base64: value, path), value)
      case "client-certificate":
        if certificate == nil { certificate = (try certificates(file: value, path, directory: directory), value) }
      case "client-key-data": key = (try privateKey(try decoded(value, path), value, path), value)
      case "client-key":
        if key == nil { key = (try privateKey(try contents(file: value, path, directory: directory), value, path), value) }
      case "exec": throw error(keyNode, path, "exec credential plugins are not supported; use a token or a client certificate")
      case "auth-provider": throw error(keyNode, path, "auth providers are not supported; use a token or a client certificate")
      case "username", "password": throw error(keyNode, path, "basic authentication is not supported; use a token or a client certificate")
      default: break
      }
    }
    switch (certificate, key) {
    case (let certificate?, let key?):
      if token != nil || tokenFile != nil {
        throw error(node, "\(field).token", "give a token or a client certificate, not both")
      }
      return .clientCertificate(certificatePEM: certificate.0, keyPEM: key.0)
    case (let certificate?, nil): throw error(certificate.1, "\(field).client-key", "missing: client-certificate needs a key")
    case (nil, let key?): throw error(key.1, "\(field).client-certificate", "missing: client-key needs a certificate")
    case (nil, nil): break
    }
    if let token, !token.isEmpty { return .token(token) }
    if let tokenFile {
      guard FileManager.default.isReadableFile(atPath: tokenFile) else {
        throw error(node, "\(field).tokenFile", "cannot read \(tokenFile)")
      }
      return .tokenFile(tokenFile)
    }
    return .none
  }

  private func absolute(_ path: String, directory: String) -> String {
    path.hasPrefix("/") || directory.isEmpty ? path : "\(directory)/\(path)"
  }

  private func decoded(_ node: Node, _ field: String) throws(ConfigurationError) -> [UInt8] {
    let text = try string(node, field)
    guard let data = Data(base64Encoded: text.filter { !$0.isWhitespace }) else { throw error(node, field, "not base64") }
    return Array(data)
  }

  private func contents(file node: Node, _ field: String, directory: String) throws(ConfigurationError) -> [UInt8] {
    let path = absolute(try string(node, field), directory: directory)
    guard let data = FileManager.default.contents(atPath: path) else { throw error(node, field, "cannot read \(path)") }
    return Array(data)
  }

  private func certificates(base64 node: Node, _ field: String) throws(ConfigurationError) -> [UInt8] {
    try certificates(try decoded(node, field), node, field)
  }

  private func certificates(file node: Node, _ field: String, directory: String) throws(ConfigurationError) -> [UInt8] {
    try certificates(try contents(file: node, field, directory: directory), node, field)
  }

  /// `pem` if it holds at least one PEM certificate.
  private func certificates(_ pem: [UInt8], _ node: Node, _ field: String) throws(ConfigurationError) -> [UInt8] {
    guard let certificates = try? NIOSSLCertificate.fromPEMBytes(pem), !certificates.isEmpty else {
      throw error(node, field, "not a PEM certificate")
    }
    return pem
  }

  private func privateKey(_ pem: [UInt8], _ node: Node, _ field: String) throws(ConfigurationError) -> [UInt8] {
    guard (try? NIOSSLPrivateKey(bytes: pem, format: .pem)) != nil else { throw error(node, field, "not a PEM private key") }
    return pem
  }
}
