import ArgumentParser

/// `warren`: peer-to-peer connection broker for WireGuard meshes, speaking cunicu's signaling.
@main
struct Warren: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "warren",
    abstract: "Peer-to-peer connection broker for WireGuard meshes (cunicu-compatible signaling and ICE).",
    version: WarrenVersion.current.description,
    subcommands: [Demo.self, Up.self, Status.self, Ping.self, Signal.self, GenerateKey.self, PublicKey.self, CommunityPublicKey.self, Addresses.self, Version.self]
  )
}
