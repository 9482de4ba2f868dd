import Foundation
import KubernetesTestAPIServer
import Logging
import Testing
import WarrenKubernetes
import WarrenSignaling
import WarrenYAML

@Suite("kubeconfig and in-cluster credentials")
struct KubeConfigTests {
  let authority = try! TestCertificateAuthority()
  var caData: String { Data(authority.certificatePEM.utf8).base64EncodedString() }

  func parse(_ text: String, directory: String = "/nonexistent") throws(ConfigurationError) -> KubernetesConnection {
    try KubeConfig.parse(text, file: "kubeconfig", directory: directory)
  }

  /// A kubeconfig with one context `ctx`, cluster `c` and user `u`; `cluster` and `user` are the
  /// lines under `cluster:` and `user:`.
  func config(cluster: [String], user: [String], context: [String] = ["cluster: c", "user: u"], current: String = "ctx") -> String {
    (["apiVersion: v1", "kind: Config", "current-context: \(current)", "clusters:", "- name: c", "  cluster:"]
      + cluster.map { "    \($0)" }
      + ["contexts:", "- name: ctx", "  context:"] + context.map { "    \($0)" }
      + ["users:", "- name: u", "  user:"] + user.map { "    \($0)" }).joined(separator: "\n")
  }

  @Test("the current context's server, CA, token and namespace")
  func token() throws {
    let connection = try parse(
      config(
        cluster: ["server: https://203.0.113.10:6443/", "certificate-authority-data: \(caData)"], user: ["token: abc"],
        context: ["cluster: c", "user: u", "namespace: mesh"]))
    #expect(connection.server == "https://203.0.113.10:6443")
    #expect(connection.authentication == .token("abc"))
    #expect(connection.namespace == "mesh")
    #expect(connection.certificateAuthorityPEM == Array(authority.certificatePEM.utf8))
    #expect(!connection.insecureSkipTLSVerify)
  }

  @Test("client certificate, key and CA from files relative to the kubeconfig; insecure-skip-tls-verify")
  func files() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-kubeconfig-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let client = try authority.issueClientCertificate(user: "alice")
    try client.certificatePEM.write(toFile: "\(directory)/client.crt", atomically: true, encoding: .utf8)
    try client.privateKeyPEM.write(toFile: "\(directory)/client.key", atomically: true, encoding: .utf8)
    try authority.certificatePEM.write(toFile: "\(directory)/ca.crt", atomically: true, encoding: .utf8)
    try "secret\n".write(toFile: "\(directory)/token", atomically: true, encoding: .utf8)
    let withCertificate = try parse(
      config(cluster: ["server: https://127.0.0.1:6443", "certificate-authority: ca.crt"], user: ["client-certificate: client.crt", "client-key: client.key"]),
      directory: directory)
    #expect(withCertificate.authentication == .clientCertificate(certificatePEM: Array(client.certificatePEM.utf8), keyPEM: Array(client.privateKeyPEM.utf8)))
    #expect(withCertificate.certificateAuthorityPEM == Array(authority.certificatePEM.utf8))
    let insecure = try parse(
      config(cluster: ["server: https://127.0.0.1:6443", "insecure-skip-tls-verify: true"], user: ["tokenFile: token"]), directory: directory)
    #expect(insecure.insecureSkipTLSVerify && insecure.authentication == .tokenFile("\(directory)/token"))
  }

  @Test(
    "bad kubeconfig files give errors naming the line and field",
    arguments: [
      ("apiVersion: v1\nclusters: []", "kubeconfig:1: current-context: missing: no context is selected"),
      ("current-context: nope\ncontexts: []", "kubeconfig:2: contexts: no entry named 'nope'"),
      ("current-context: x\ncontexts:\n- name: x\n  context:\n    user: u", "kubeconfig:5: contexts[x].context.cluster: missing"),
      ("{ not yaml", "kubeconfig: not valid YAML"),
    ])
  func structure(text: String, expected: String) {
    #expect { try parse(text) } throws: { "\($0)".hasPrefix(expected) }
  }

  @Test(
    "bad cluster and user fields give errors naming them",
    arguments: [
      (["insecure-skip-tls-verify: true"], ["token: t"], "clusters[c].cluster.server: missing"),
      (["server: ftp://x"], ["token: t"], "clusters[c].cluster.server: expected https://HOST[:PORT], got 'ftp://x'"),
      (["server: https://x", "certificate-authority-data: '%%%'"], ["token: t"], "clusters[c].cluster.certificate-authority-data: not base64"),
      (["server: https://x", "certificate-authority-data: aGVsbG8="], ["token: t"], "clusters[c].cluster.certificate-authority-data: not a PEM certificate"),
      (["server: https://x", "certificate-authority: /nonexistent/ca.crt"], ["token: t"], "clusters[c].cluster.certificate-authority: cannot read /nonexistent/ca.crt"),
      (["server: https://x", "insecure-skip-tls-verify: maybe"], ["token: t"], "clusters[c].cluster.insecure-skip-tls-verify: expected true or false"),
      (["server: https://x"], ["client-key-data: aGVsbG8="], "users[u].user.client-key-data: not a PEM private key"),
      (["server: https://x"], ["exec: {command: aws}"], "users[u].user.exec: exec credential plugins are not supported"),
      (["server: https://x"], ["auth-provider: {name: gcp}"], "users[u].user.auth-provider: auth providers are not supported"),
      (["server: https://x"], ["username: admin"], "users[u].user.username: basic authentication is not supported"),
      (["server: https://x"], ["tokenFile: /nonexistent/token"], "users[u].user.tokenFile: cannot read /nonexistent/token"),
    ])
  func fields(cluster: [String], user: [String], expected: String) {
    #expect { try parse(config(cluster: cluster, user: user)) } throws: { "\($0)".contains(expected) }
  }

  @Test("a certificate without its key, and a key without its certificate")
  func halfCertificate() throws {
    let client = try authority.issueClientCertificate(user: "alice")
    let certificate = Data(client.certificatePEM.utf8).base64EncodedString()
    let key = Data(client.privateKeyPEM.utf8).base64EncodedString()
    #expect { try parse(config(cluster: ["server: https://x"], user: ["client-certificate-data: \(certificate)"])) } throws: {
      "\($0)".contains("users[u].user.client-key: missing: client-certificate needs a key")
    }
    #expect { try parse(config(cluster: ["server: https://x"], user: ["client-key-data: \(key)"])) } throws: {
      "\($0)".contains("users[u].user.client-certificate: missing: client-key needs a certificate")
    }
  }

  @Test("the in-cluster service account: environment and the three files")
  func inCluster() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-sa-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
    #expect { try KubernetesConnection.inCluster(environment: environment, directory: directory) } throws: {
      "\($0)".contains("cannot read the service account token \(directory)/token")
    }
    try "sa-token".write(toFile: "\(directory)/token", atomically: true, encoding: .utf8)
    try authority.certificatePEM.write(toFile: "\(directory)/ca.crt", atomically: true, encoding: .utf8)
    try "mesh\n".write(toFile: "\(directory)/namespace", atomically: true, encoding: .utf8)
    let connection = try KubernetesConnection.inCluster(environment: environment, directory: directory)
    #expect(connection.server == "https://10.96.0.1:443")
    #expect(connection.namespace == "mesh")
    #expect(connection.authentication == .tokenFile("\(directory)/token"))
    let v6 = try KubernetesConnection.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"], directory: directory)
    #expect(v6.server == "https://[fd00::1]:443")
    #expect { try KubernetesConnection.inCluster(environment: [:], directory: directory) } throws: {
      "\($0)".contains("needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT")
    }
  }

  @Test("the default kubeconfig: every file of $KUBECONFIG, else ~/.kube/config")
  func defaultPaths() {
    #expect(KubeConfig.defaultPaths(environment: ["KUBECONFIG": "/a/one::/b/two", "HOME": "/home/x"]) == ["/a/one", "/b/two"])
    #expect(KubeConfig.defaultPaths(environment: ["KUBECONFIG": "", "HOME": "/home/x"]) == ["/home/x/.kube/config"])
    #expect(KubeConfig.defaultPaths(environment: ["HOME": "/home/x"]) == ["/home/x/.kube/config"])
  }

  @Test("several files merge as kubectl merges them: the first current-context and the first entry of each name win")
  func merged() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-kubeconfig-\(UUID())").path
    try FileManager.default.createDirectory(atPath: "\(directory)/b", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // The first file selects the context and defines the user; the cluster comes from the second,
    // whose CA path is relative to its own directory; the second file's own context, user and
    // current-context lose.
    try """
      current-context: ctx
      contexts:
      - name: ctx
        context: { cluster: c, user: u, namespace: mesh }
      users:
      - name: u
        user: { token: first }
      """.write(toFile: "\(directory)/one", atomically: true, encoding: .utf8)
    try authority.certificatePEM.write(toFile: "\(directory)/b/ca.pem", atomically: true, encoding: .utf8)
    try """
      current-context: other
      clusters:
      - name: c
        cluster: { server: "https://203.0.113.10:6443", certificate-authority: ca.pem }
      contexts:
      - name: ctx
        context: { cluster: nowhere, user: u }
      users:
      - name: u
        user: { token: second }
      """.write(toFile: "\(directory)/b/two", atomically: true, encoding: .utf8)
    let connection = try KubeConfig.load(paths: ["\(directory)/one", "\(directory)/missing", "\(directory)/b/two"])
    #expect(connection.server == "https://203.0.113.10:6443" && connection.namespace == "mesh")
    #expect(connection.authentication == .token("first"))
    #expect(connection.certificateAuthorityPEM == Array(authority.certificatePEM.utf8))
    // Alone, the first file lacks the cluster, and says so.
    #expect { try KubeConfig.load(paths: ["\(directory)/one"]) } throws: { "\($0)".contains("clusters: missing: 'c' is not defined") }
    #expect { try KubeConfig.load(paths: ["\(directory)/missing"]) } throws: { "\($0)".contains("\(directory)/missing") }
  }

  @Test("k8s URLs: the three forms, and bad parameters named")
  func urls() throws {
    #expect(try KubernetesTransport.Settings(BackendURL("k8s:///etc/kube/config?namespace=mesh")).source == .kubeconfig("/etc/kube/config"))
    #expect(try KubernetesTransport.Settings(BackendURL("k8s:///etc/kube/config?namespace=mesh")).namespace == "mesh")
    #expect(try KubernetesTransport.Settings(BackendURL("k8s://")).source == .kubeconfig(nil))
    #expect(try KubernetesTransport.Settings(BackendURL("k8s://incluster")).source == .inCluster)
    let settings = try KubernetesTransport.Settings(BackendURL("k8s://incluster?cleanup_interval=30s&max_age=1h"))
    #expect(settings.cleanupInterval == .seconds(30) && settings.maxAge == .seconds(3600))
    #expect(try KubernetesTransport.Settings(BackendURL("k8s://incluster?cleanup_interval=off")).cleanupInterval == nil)
    let bad: [(String, String)] = [
      ("k8s://server.example/config", "expected k8s:///path/to/kubeconfig (three slashes)"),
      ("k8s://incluster?namespace=Not_A_Name", "namespace 'Not_A_Name' is not a Kubernetes name"),
      ("k8s://incluster?max_age=ten", "max_age must be a duration like 30s, 10m or 1h, got 'ten'"),
      ("k8s://incluster?namspace=x", "unknown parameter namspace"),
    ]
    for (url, expected) in bad {
      #expect { try KubernetesTransport.Settings(BackendURL(url)) } throws: { "\($0)".contains(expected) }
    }
  }

  @Test("a backend whose kubeconfig is broken is refused when it is made, naming the file and field")
  func brokenKubeconfigAtFactory() throws {
    var factory = BackendFactory(logger: .init(label: "test"))
    factory.registerKubernetes()
    #expect { try factory.makeBackend(url: "k8s:///nonexistent/kubeconfig") } throws: {
      "\($0)".contains("/nonexistent/kubeconfig: cannot read the file: no such file")
    }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("warren-kubeconfig-\(UUID())").path
    try config(cluster: ["server: https://x"], user: ["exec: {command: aws}"]).write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect { try factory.makeBackend(url: "k8s://\(path)") } throws: {
      "\($0)".contains("\(path):16: users[u].user.exec: exec credential plugins are not supported")
    }
    // A good k8s URL next to a bad one: the k8s transport made first is dropped unused, which
    // must not trip AsyncHTTPClient's check that every client is shut down (a crash in debug).
    try config(cluster: ["server: https://127.0.0.1:1"], user: ["token: t"]).write(toFile: path, atomically: true, encoding: .utf8)
    #expect { try factory.makeBackend(urls: ["k8s://\(path)", "bogus://x"]) } throws: {
      ($0 as? SignalingError)?.code == .unknownScheme
    }
  }

  @Test("errors say their code and their message, like every Warren error")
  func errorDescriptions() {
    #expect("\(KubernetesError(.apiError, "the API server refused the watch (403)", status: 403))" == "API error: the API server refused the watch (403)")
    #expect(KubernetesError(.unreachable, "a") != KubernetesError(.interrupted, "a"))
    #expect("\(SignalingError(.closed, "the backend is closed"))" == "closed: the backend is closed")
  }
}
