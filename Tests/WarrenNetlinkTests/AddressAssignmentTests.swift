import Testing
import WarrenNetlink
import WarrenPrimitives

@Suite("rtnetlink address requests")
struct AddressAssignmentTests {
  /// The layout `ip address replace 10.237.1.2/16 dev d0` sends (iproute2, decoded by strace):
  /// 40 bytes, RTM_NEWADDR, NLM_F_REQUEST|NLM_F_ACK|NLM_F_REPLACE|NLM_F_CREATE, AF_INET, /16, no
  /// flags, universe scope, the index, then IFA_LOCAL and IFA_ADDRESS of 8 bytes each.
  @Test("adding an IPv4 address: the bytes iproute2 sends for the same request")
  func addIPv4() {
    let request = AddressAssignment.request(.add, TransportAddress.IP("10.237.1.2")!, length: 16, interfaceIndex: 3, sequence: 0x0102_0304)
    #expect(request == [
      40, 0, 0, 0, 20, 0, 0x05, 0x05, 0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0,
      2, 16, 0, 0, 3, 0, 0, 0,
      8, 0, 2, 0, 10, 237, 1, 2,
      8, 0, 1, 0, 10, 237, 1, 2,
    ])
  }

  /// `ip address replace fc2f:9a4d::1/32 dev d0 nodad`: 64 bytes, AF_INET6, IFA_F_NODAD.
  @Test("adding an IPv6 address skips duplicate address detection; removing asks only for an acknowledgement")
  func ipv6AndRemove() {
    let address = TransportAddress.IP("fc2f:9a4d::1")!
    let bytes: [UInt8] = [0xfc, 0x2f, 0x9a, 0x4d] + [UInt8](repeating: 0, count: 11) + [1]
    let added = AddressAssignment.request(.add, address, length: 32, interfaceIndex: 7, sequence: 9)
    #expect(added == [64, 0, 0, 0, 20, 0, 0x05, 0x05, 9, 0, 0, 0, 0, 0, 0, 0, 10, 32, 0x02, 0, 7, 0, 0, 0]
      + [20, 0, 2, 0] + bytes + [20, 0, 1, 0] + bytes)
    let removed = AddressAssignment.request(.remove, address, length: 32, interfaceIndex: 7, sequence: 9)
    #expect(removed[4..<8] == [21, 0, 0x05, 0x00])
    #expect(removed.count == 64)
  }
}
