internal import Foundation
internal import NIOSSL
public import WarrenYAML
internal import Yams

/// Reads kubeconfig files the way kubectl does: the current context, its cluster (`server`,
/// `certificate-authority(-data)`, `insecure-skip-tls-verify`) and its user (`token`,
/// `tokenFile`, `client-certificate(-data)` with `client-key(-data)`). Several files (`$KUBECONFIG`
/// is a colon-separated list) are merged as kubectl merges them: the first file that sets
/// `current-context` wins, and so does the first file that defines a context, cluster or user of
/// a name; missing files are skipped. Relative file names are relative to the directory of the
/// file they are written in. Unknown keys are ignored, as kubectl ignores them; what Warren cannot
/// do (exec plugins, auth providers, basic auth, proxies) is an error naming the field.
public enum KubeConfig {
  /// The files of `$KUBECONFIG`, in order, or `~/.kube/config`.
  public static func defaultPaths(environment: [String: String]? = nil) -> [String] {
    let environment = environment ?? ProcessInfo.processInfo.environment
    let listed = (environment["KUBECONFIG"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    if !listed.isEmpty { return listed }
    return ["\(environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path)/.kube/config"]
  }

  public static func load(path: String) throws(ConfigurationError) -> KubernetesConnection {
    try load(paths: [path])
  }

  /// The files at `paths` merged; those that do not exist are skipped, unless none does.
  public static func load(paths: [String]) throws(ConfigurationError) -> KubernetesConnection {
    let existing = paths.filter { FileManager.default.fileExists(atPath: $0) }
    guard !existing.isEmpty else {
      // Let the first one say what is wrong with it (missing, unreadable).
      _ = try YAMLReader.load(path: paths.first ?? "~/.kube/config")
      throw ConfigurationError(.unreadable, file: paths.first ?? "", line: nil, field: "", message: "no kubeconfig file")
    }
    var merged = MergedKubeConfig()
    for path in existing {
      let (reader, root) = try YAMLReader.load(path: path)
      try merged.add(root, reader: reader, directory: (path as NSString).deletingLastPathComponent)
    }
    return try merged.connection()
  }

  /// `text` as a kubeconfig; `file` names it in errors and relative paths start at `directory`.
  public static func parse(_ text: String, file: String, directory: String) throws(ConfigurationError) -> KubernetesConnection {
    let reader = YAMLReader(file: file)
    var merged = MergedKubeConfig()
    try merged.add(try reader.parse(text), reader: reader, directory: directory)
    return try merged.connection()
  }
}

/// The contexts, clusters and users of one or more kubeconfig files, each remembered with the
/// file it came from (for errors and relative paths).
private struct MergedKubeConfig {
  struct Entry {
    var node: Node?
    var field: String
    var reader: YAMLReader
    var directory: String
  }

  var current: (name: String, reader: YAMLReader, node: Node)?
  var first: (reader: YAMLReader, root: Node)?
  /// By list (`contexts`, `clusters`, `users`), then by name.
  var entries: [String: [String: Entry]] = [:]
  /// Where each list first appeared (for an error naming it).
  var lists: [String: (reader: YAMLReader, node: Node)] = [:]

  static let items = ["contexts": "context", "clusters": "cluster", "users": "user"]

  mutating func add(_ root: Node, reader: YAMLReader, directory: String) throws(ConfigurationError) {
    if first == nil { first = (reader, root) }
    for (name, _, value) in try reader.mapping(root, "", known: []) {
      if name == "current-context" {
        let context = try reader.string(value, name)
        if current == nil, !context.isEmpty { current = (context, reader, value) }
        continue
      }
      guard let item = Self.items[name] else { continue }
      guard let sequence = value.sequence else { throw reader.error(value, name, "expected a list") }
      if lists[name] == nil { lists[name] = (reader, value) }
      for element in sequence {
        var entryName: String?
        var body: Node?
        for (key, _, field) in try reader.mapping(element, name, known: []) {
          if key == "name" { entryName = try reader.string(field, "\(name).name") }
          if key == item { body = field }
        }
        guard let entryName, entries[name]?[entryName] == nil else { continue }
        entries[name, default: [:]][entryName] = Entry(
          node: body, field: "\(name)[\(entryName)].\(item)", reader: reader, directory: directory)
      }
    }
  }

  /// The `list` entry named `name`, with its body.
  func entry(_ name: String, in list: String) throws(ConfigurationError) -> (node: Node, entry: Entry) {
    guard let entry = entries[list]?[name] else {
      if let (reader, node) = lists[list] { throw reader.error(node, list, "no entry named '\(name)'") }
      let (reader, root) = first!
      throw reader.error(root, list, "missing: '\(name)' is not defined")
    }
    guard let node = entry.node else { throw entry.reader.error(nil, entry.field, "missing") }
    return (node, entry)
  }

  func connection() throws(ConfigurationError) -> KubernetesConnection {
    guard let current else {
      let (reader, root) = first!
      throw reader.error(root, "current-context", "missing: no context is selected")
    }
    let (contextNode, context) = try entry(current.name, in: "contexts")
    let reader = context.reader
    var clusterName: String?
    var userName: String?
    var namespace: String?
    for (name, _, value) in try reader.mapping(contextNode, context.field, known: []) {
      switch name {
      case "cluster": clusterName = try reader.string(value, "\(context.field).cluster")
      case "user": userName = try reader.string(value, "\(context.field).user")
      case "namespace": namespace = try reader.string(value, "\(context.field).namespace")
      default: break
      }
    }
    guard let clusterName else { throw reader.error(contextNode, "\(context.field).cluster", "missing") }
    let (clusterNode, cluster) = try entry(clusterName, in: "clusters")
    var connection = try cluster.reader.cluster(clusterNode, cluster.field, directory: cluster.directory)
    connection.namespace = namespace.flatMap { $0.isEmpty ? nil : $0 }
    if let userName, !userName.isEmpty {
      let (userNode, user) = try entry(userName, in: "users")
      connection.authentication = try user.reader.user(userNode, user.field, directory: user.directory)
    }
    return connection
  }
}

extension YAMLReader {
  fileprivate func cluster(_ node: Node, _ field: String, directory: String) throws(ConfigurationError) -> KubernetesConnection {
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

  fileprivate func user(
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
