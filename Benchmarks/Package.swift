// swift-tools-version: 6.1
import PackageDescription

// Warren's benchmarks, kept out of the main package so that `swift test` never builds the
// benchmark library. Run with `swift package benchmark` from this folder, or through the scripts
// here that put libsodium's figures next to Warren's from the same run.
let package = Package(
  name: "WarrenBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "warren", path: ".."),
    .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
    .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
    .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
  ],
  targets: [
    .executableTarget(
      name: "CryptoBenchmarks",
      dependencies: [
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "WarrenCrypto", package: "warren"),
      ],
      path: "Benchmarks/CryptoBenchmarks",
      swiftSettings: [.swiftLanguageMode(.v6)],
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    // Load on `warren signal` over loopback, next to a no-op unary call as the ceiling; see
    // signal-load.sh. A plain executable: it measures a separate server process.
    .executableTarget(
      name: "SignalLoad",
      dependencies: [
        .product(name: "WarrenWire", package: "warren"),
        .product(name: "WarrenWireGRPC", package: "warren"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      ],
      path: "Benchmarks/SignalLoad",
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // What proofs of key possession cost the signal server; see subscribe-proofs.sh.
    .executableTarget(
      name: "SubscribeProofs",
      dependencies: [
        .product(name: "WarrenCrypto", package: "warren"),
        .product(name: "WarrenWire", package: "warren"),
        .product(name: "WarrenWireGRPC", package: "warren"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      ],
      path: "Benchmarks/SubscribeProofs",
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // Time to connected on loopback (real sockets), and CPU per 1,000 connectivity checks; see
    // ice-connect.sh, which runs aioice on the same candidates in the same run.
    .executableTarget(
      name: "ICEConnect",
      dependencies: [
        .product(name: "WarrenICE", package: "warren"),
        .product(name: "WarrenICENIO", package: "warren"),
        .product(name: "WarrenSTUN", package: "warren"),
      ],
      path: "Benchmarks/ICEConnect",
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // Warren clients with a replica list, held subscribed while a replica is killed; see
    // cluster-failover.sh.
    .executableTarget(
      name: "FailoverClients",
      dependencies: [
        .product(name: "WarrenCrypto", package: "warren"),
        .product(name: "WarrenGRPC", package: "warren"),
        .product(name: "WarrenSignaling", package: "warren"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Benchmarks/FailoverClients",
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
  ]
)
