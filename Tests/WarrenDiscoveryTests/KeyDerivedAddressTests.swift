import Testing
import WarrenCrypto
import WarrenDiscovery
import WarrenPrimitives

@Suite("Addresses derived from a key (cunicu's autocfg)")
struct KeyDerivedAddressTests {
  /// The SipHash paper's test vector (Appendix A): key 00..0f, message 00..0e.
  @Test("SipHash-2-4, 64-bit: the paper's vector")
  func sipHash64() {
    let key = (0..<16).map(UInt8.init)
    #expect(SipHash24.hash64(key: key, (0..<15).map(UInt8.init)) == 0xa129_ca61_49be_45e5)
  }

  /// The reference implementation's 128-bit vectors (vectors.h, `vectors_sip128`): key 00..0f,
  /// messages 00..n-1, here n = 0 and n = 15.
  @Test("SipHash-2-4, 128-bit: the reference implementation's vectors")
  func sipHash128() {
    let key = (0..<16).map(UInt8.init)
    #expect(SipHash24.hash128(key: key, []) == [0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93])
  }

  /// Computed by cunicu itself (`cunicu addresses -m`, commit b4819940); Interop/cunicu/run.sh checks
  /// many more keys against the binary.
  @Test(
    "the addresses cunicu computes for the same key, IPv4 and IPv6",
    arguments: [
      ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "10.237.34.113/16", "fc2f:9a4d:2271:54c5:b861:72aa:b4d1:9bb5/32"),
      ("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", "10.237.23.62/16", "fc2f:9a4d:173e:44d7:91bc:bc77:9855:67a1/32"),
      ("G90fPdjgRyObcQyb/On1plPeoWZgmCUN9Hu5ONFS5kY=", "10.237.43.237/16", "fc2f:9a4d:2bed:913c:d898:9142:7895:6a54/32"),
    ])
  func cunicuVectors(key: String, ipv4: String, ipv6: String) throws {
    let key = try Key(base64: key)
    #expect(KeyDerivedAddress.address(of: key, in: IPPrefix("10.237.0.0/16")!).description == ipv4)
    #expect(KeyDerivedAddress.address(of: key, in: IPPrefix("fc2f:9a4d::/32")!).description == ipv6)
  }

  @Test("the prefix's own bits stay, host bits come from the hash, at any length")
  func prefixBits() throws {
    let key = try Key(base64: "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")
    // The same hash under a longer prefix: shifted further, under the same leading bits.
    #expect(KeyDerivedAddress.address(of: key, in: IPPrefix("10.237.0.0/24")!).description == "10.237.0.23/24")
    #expect(KeyDerivedAddress.address(of: key, in: IPPrefix("10.237.99.0/32")!).description == "10.237.99.0/32")
    // Host bits given in the prefix are cleared first.
    #expect(KeyDerivedAddress.address(of: key, in: IPPrefix("10.237.255.255/16")!).description == "10.237.23.62/16")
    let wide = KeyDerivedAddress.address(of: key, in: IPPrefix("fd00::/8")!)
    // The hash's first 120 bits under fd00::/8 (the first 96 are those of the /32 above).
    #expect(wide.description.hasPrefix("fd17:3e44:d791:bcbc:7798:5567:a1") && wide.length == 8, "\(wide)")
    let sixtyFour = KeyDerivedAddress.address(of: key, in: IPPrefix("fd00:1:2:3::/64")!)
    #expect(sixtyFour.description == "fd00:1:2:3:173e:44d7:91bc:bc77/64")
  }
}
