// swift-tools-version: 6.1
import PackageDescription

// Every Warren module builds in Swift 6 language mode with strict concurrency and declares the
// access level of each import.
let swiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("InternalImportsByDefault"),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
  name: "warren",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "WarrenWire", targets: ["WarrenWire"]),
    .library(name: "WarrenCrypto", targets: ["WarrenCrypto"]),
    .library(name: "WarrenSignaling", targets: ["WarrenSignaling"]),
    .executable(name: "warren", targets: ["warren"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0", traits: []),
    .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
  ],
  targets: [
    // Layer 0: the wire format. Generated from Protos/ by scripts/generate-protos.sh; nothing else.
    .target(
      name: "WarrenWire",
      dependencies: [
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // Layer 1: WireGuard keys, NaCl crypto_box, sealed envelopes.
    .target(
      name: "WarrenCrypto",
      dependencies: [
        "WarrenWire",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // Layer 2: the signaling backend contract, the subscription registry and the backends that
    // need no network library (in-process, multi).
    .target(
      name: "WarrenSignaling",
      dependencies: [
        "WarrenWire",
        "WarrenCrypto",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // The command-line tool.
    .executableTarget(
      name: "warren",
      dependencies: [
        "WarrenCrypto",
        "WarrenSignaling",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: swiftSettings
    ),

    .testTarget(
      name: "WarrenCryptoTests",
      dependencies: ["WarrenCrypto", "WarrenWire"],
      resources: [.copy("Vectors")],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenSignalingTests",
      dependencies: ["WarrenSignaling", "WarrenCrypto", "WarrenWire"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenCLITests",
      dependencies: ["warren", "WarrenCrypto"],
      swiftSettings: swiftSettings
    ),
  ]
)
