import Crypto
import Foundation

/// HMAC-SHA1 straight from swift-crypto, as the expected value for the TURN REST password.
func hmacSHA1Base64(key: String, message: String) -> String {
  let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: Data(key.utf8)))
  return Data(mac).base64EncodedString()
}
