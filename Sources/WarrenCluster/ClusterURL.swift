public import WarrenPrimitives

#if canImport(FoundationEssentials)
  internal import FoundationEssentials
#else
  internal import Foundation
#endif

/// Where a replica finds the cluster's PostgreSQL: `postgres://USER@HOST:PORT/DATABASE`, with
/// `?sslmode=disable|prefer|require` (libpq's names; `prefer` by default), `?sslrootcert=PATH` (PEM
/// certificates to trust for the server instead of the system's: a private CA) and
/// `?channel=NAME` (the notification channel, `warren_signal` by default). Unlike libpq's
/// `require`, Warren's verifies the server's certificate and name (libpq's `verify-full`). The
/// password comes from a file or the environment (`warren signal --cluster-password-file`,
/// `WARREN_CLUSTER_PASSWORD`), not the URL, which ends up in process lists and logs.
public struct ClusterURL: Sendable, Equatable, CustomStringConvertible {
  public enum TLSMode: String, Sendable, Equatable {
    case disable, prefer, require
  }

  public var user: String
  public var host: String
  public var port: Int
  public var database: String
  public var tls: TLSMode
  /// A PEM file of the certificates that may sign the server's (`nil`: the system's roots).
  public var rootCertificates: String?
  public var channel: String

  public init(_ text: String) throws(ClusterError) {
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
      scheme == "postgres" || scheme == "postgresql"
    else {
      throw ClusterError(.invalidURL, "'\(text)' is not a postgres:// URL (expected postgres://USER@HOST:PORT/DATABASE)")
    }
    guard components.password == nil else {
      throw ClusterError(.invalidURL, "\(text): put the password in a file (--cluster-password-file) or WARREN_CLUSTER_PASSWORD, not in the URL")
    }
    guard let user = components.user, !user.isEmpty else { throw ClusterError(.invalidURL, "\(text) names no user (postgres://USER@HOST/DATABASE)") }
    var host = components.host ?? ""
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { throw ClusterError(.invalidURL, "\(text) names no host") }
    let port = components.port ?? 5432
    guard (1...65535).contains(port) else { throw ClusterError(.invalidURL, "\(text): port must be 1 to 65535") }
    let database = String(components.path.drop { $0 == "/" })
    guard !database.isEmpty, !database.contains("/") else { throw ClusterError(.invalidURL, "\(text) names no database (postgres://USER@HOST/DATABASE)") }
    var tls = TLSMode.prefer
    var rootCertificates: String?
    var channel = "warren_signal"
    for item in components.queryItems ?? [] {
      switch item.name {
      case "sslmode":
        guard let mode = TLSMode(rawValue: item.value ?? "") else {
          throw ClusterError(.invalidURL, "\(text): sslmode must be disable, prefer or require, got '\(item.value ?? "")'")
        }
        tls = mode
      case "sslrootcert":
        guard let path = item.value, path.hasPrefix("/") else {
          throw ClusterError(.invalidURL, "\(text): sslrootcert must be an absolute path to a PEM file, got '\(item.value ?? "")'")
        }
        rootCertificates = path
      case "channel":
        // An identifier PostgreSQL takes unquoted: pg_notify's channel argument is case-sensitive
        // text, LISTEN's an identifier; keeping to lowercase letters, digits and _ makes both agree.
        guard let name = item.value, (1...63).contains(name.count),
          name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLowercase || $0.isNumber)) }), !(name.first?.isNumber ?? true)
        else {
          throw ClusterError(.invalidURL, "\(text): channel must be 1 to 63 lowercase letters, digits and _, not starting with a digit")
        }
        channel = name
      default:
        throw ClusterError(.invalidURL, "\(text): unknown parameter \(item.name) (known: channel, sslmode, sslrootcert)")
      }
    }
    self.user = user
    self.host = host
    self.port = port
    self.database = database
    self.tls = tls
    self.rootCertificates = rootCertificates
    self.channel = channel
  }

  public var description: String {
    "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(tls.rawValue)"
      + (rootCertificates.map { "&sslrootcert=\($0)" } ?? "") + "&channel=\(channel)"
  }
}
