internal import Crypto
internal import Foundation
internal import SwiftASN1
internal import X509

/// A certificate authority made for one test run (P-256, valid for a day): it issues the test API
/// server's certificate (127.0.0.1, ::1, localhost) and client certificates.
public struct TestCertificateAuthority: Sendable {
  /// A certificate and its private key, PEM.
  public struct Issued: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String
  }

  public let certificatePEM: String
  private let key: P256.Signing.PrivateKey
  private let name: DistinguishedName

  public init() throws {
    key = P256.Signing.PrivateKey()
    name = try DistinguishedName { CommonName("Warren test CA") }
    let publicKey = Certificate.PublicKey(key.publicKey)
    let certificate = try Certificate(
      version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
      notValidBefore: Date() - 3600, notValidAfter: Date() + 86_400, issuer: name, subject: name,
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
        Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
        SubjectKeyIdentifier(hash: publicKey)
      },
      issuerPrivateKey: Certificate.PrivateKey(key))
    certificatePEM = try certificate.serializeAsPEM().pemString
  }

  /// A certificate for the test server on loopback.
  public func issueServerCertificate() throws -> Issued {
    try issue(
      commonName: "kubernetes", usage: .serverAuth,
      names: [
        .dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
        .ipAddress(ASN1OctetString(contentBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
      ])
  }

  /// A client certificate; Kubernetes takes the user name from its common name.
  public func issueClientCertificate(user: String) throws -> Issued {
    try issue(commonName: user, usage: .clientAuth, names: [])
  }

  private func issue(
    commonName: String, usage: ExtendedKeyUsage.Usage, names: [GeneralName]
  ) throws -> Issued {
    let leafKey = P256.Signing.PrivateKey()
    let publicKey = Certificate.PublicKey(leafKey.publicKey)
    let certificate = try Certificate(
      version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
      notValidBefore: Date() - 3600, notValidAfter: Date() + 86_400, issuer: name,
      subject: try DistinguishedName { CommonName(commonName) },
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        Critical(KeyUsage(digitalSignature: true))
        try ExtendedKeyUsage([usage])
        SubjectKeyIdentifier(hash: publicKey)
        AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey)).keyIdentifier)
        if !names.isEmpty { SubjectAlternativeNames(names) }
      },
      issuerPrivateKey: Certificate.PrivateKey(key))
    return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: leafKey.pemRepresentation)
  }
}
