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
    .library(name: "WarrenWireGRPC", targets: ["WarrenWireGRPC"]),
    .library(name: "WarrenCrypto", targets: ["WarrenCrypto"]),
    .library(name: "WarrenSignaling", targets: ["WarrenSignaling"]),
    .library(name: "WarrenPrimitives", targets: ["WarrenPrimitives"]),
    .library(name: "WarrenSTUN", targets: ["WarrenSTUN"]),
    .library(name: "WarrenICE", targets: ["WarrenICE"]),
    .library(name: "WarrenTURN", targets: ["WarrenTURN"]),
    .library(name: "WarrenICEEndpoint", targets: ["WarrenICEEndpoint"]),
    .library(name: "WarrenICENIO", targets: ["WarrenICENIO"]),
    .library(name: "WarrenNetlink", targets: ["WarrenNetlink"]),
    .library(name: "WarrenSession", targets: ["WarrenSession"]),
    .library(name: "WarrenWireGuard", targets: ["WarrenWireGuard"]),
    .library(name: "WarrenNFTables", targets: ["WarrenNFTables"]),
    .library(name: "WarrenArgon2", targets: ["WarrenArgon2"]),
    .library(name: "WarrenDiscovery", targets: ["WarrenDiscovery"]),
    .library(name: "WarrenDaemon", targets: ["WarrenDaemon"]),
    .library(name: "WarrenGRPC", targets: ["WarrenGRPC"]),
    .library(name: "WarrenMulticast", targets: ["WarrenMulticast"]),
    .library(name: "WarrenKubernetes", targets: ["WarrenKubernetes"]),
    .library(name: "WarrenHTTP2", targets: ["WarrenHTTP2"]),
    .library(name: "WarrenSignalServer", targets: ["WarrenSignalServer"]),
    .library(name: "WarrenCluster", targets: ["WarrenCluster"]),
    .executable(name: "warren", targets: ["warren"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0", traits: []),
    .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
    .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
    .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
    .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
    .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
    .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
    // Only the Kubernetes test API server uses it (certificates made for each test run).
    .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
  ],
  targets: [
    // Layer 0: the wire format's messages. Generated from Protos/ by scripts/generate-protos.sh;
    // nothing else.
    .target(
      name: "WarrenWire",
      dependencies: [
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // The gRPC service stubs of the same protos (Signaling, RelayRegistry), apart, so that what
    // is built on the messages alone never links gRPC. Generated too.
    .target(
      name: "WarrenWireGRPC",
      dependencies: [
        "WarrenWire",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // Layer 1: WireGuard keys, NaCl crypto_box, sealed envelopes.
    .target(
      name: "WarrenCrypto",
      dependencies: [
        "WarrenPrimitives",
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
        "WarrenPrimitives",
        "WarrenCrypto",
        "WarrenWire",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // The value types every layer shares: TransportAddress (an IP address and a port) and
    // SplitMix64 (the seeded generator of the pure cores). No dependencies.
    .target(
      name: "WarrenPrimitives",
      swiftSettings: swiftSettings
    ),
    // The STUN codec (RFC 8489) shared by the ICE agent and the TURN client: no I/O.
    .target(
      name: "WarrenSTUN",
      dependencies: [
        "WarrenPrimitives",
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: swiftSettings
    ),
    // The sans-IO TURN client (RFC 8656): allocations, permissions, channels; no I/O.
    .target(
      name: "WarrenTURN",
      dependencies: [
        "WarrenPrimitives",
        "WarrenSTUN",
      ],
      swiftSettings: swiftSettings
    ),
    // The sans-IO ICE agent (RFC 8445, 8838, 7675): no sockets, no clock reads.
    .target(
      name: "WarrenICE",
      dependencies: [
        "WarrenPrimitives",
        "WarrenSTUN",
      ],
      swiftSettings: swiftSettings
    ),
    // An ICE agent and the TURN allocations its relayed candidates live on, as one pure value.
    .target(
      name: "WarrenICEEndpoint",
      dependencies: [
        "WarrenICE",
        "WarrenPrimitives",
        "WarrenSTUN",
        "WarrenTURN",
      ],
      swiftSettings: swiftSettings
    ),
    // The host's network changes as rtnetlink announces them: a pure decoder and a reader.
    .target(
      name: "WarrenNetlink",
      dependencies: [
        "WarrenPrimitives",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // The SwiftNIO driver of the ICE agent: UDP sockets, timers, TURN allocations.
    .target(
      name: "WarrenICENIO",
      dependencies: [
        "WarrenICE",
        "WarrenICEEndpoint",
        "WarrenPrimitives",
        "WarrenSTUN",
        "WarrenTURN",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // WireGuard interfaces: the userspace configuration socket and the `wg` tool.
    .target(
      name: "WarrenWireGuard",
      dependencies: [
        "WarrenCrypto",
        "WarrenPrimitives",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    // Warren's nftables table (the kernel data path's port redirections) through libnftables.
    .target(
      name: "WarrenNFTables",
      dependencies: [
        "WarrenPrimitives",
      ],
      swiftSettings: swiftSettings
    ),
    // Argon2id from Debian's libargon2 (the reference implementation), opened at run time.
    .target(
      name: "WarrenArgon2",
      dependencies: [
        "WarrenPrimitives",
      ],
      swiftSettings: swiftSettings
    ),
    // Peer discovery (cunicu's pdisc): the community key, announcements and what they change. Pure.
    .target(
      name: "WarrenDiscovery",
      dependencies: [
        "WarrenArgon2",
        "WarrenCrypto",
        "WarrenPrimitives",
        "WarrenWire",
      ],
      swiftSettings: swiftSettings
    ),
    // Listening sockets served as NIOAsyncChannels, safe to shut down whatever clients do.
    .target(
      name: "WarrenListener",
      dependencies: [
        "WarrenPrimitives",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // YAML files read with the line and field of every error: the daemon's configuration, kubeconfig.
    .target(
      name: "WarrenYAML",
      dependencies: [
        "WarrenPrimitives",
        .product(name: "Yams", package: "Yams"),
      ],
      swiftSettings: swiftSettings
    ),
    // The per-peer session state machine of session.md: pure, driven by its owner.
    .target(
      name: "WarrenSession",
      dependencies: [
        "WarrenICE",
        "WarrenPrimitives",
        "WarrenWire",
      ],
      swiftSettings: swiftSettings
    ),
    // The runtime that joins signaling, sessions, ICE drivers and proxies (`warren demo`, later `up`).
    .target(
      name: "WarrenDaemon",
      dependencies: [
        "WarrenCrypto",
        "WarrenDiscovery",
        "WarrenICE",
        "WarrenICENIO",
        "WarrenListener",
        "WarrenNFTables",
        "WarrenNetlink",
        "WarrenPrimitives",
        "WarrenSTUN",
        "WarrenSession",
        "WarrenSignaling",
        "WarrenWire",
        "WarrenWireGuard",
        "WarrenYAML",
        .product(name: "Yams", package: "Yams"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // Layer 3: the `multicast://` backend for LANs.
    .target(
      name: "WarrenMulticast",
      dependencies: [
        "WarrenCrypto",
        "WarrenPrimitives",
        "WarrenSignaling",
        "WarrenWire",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // Layer 3: the `k8s://` backend (SignalingEnvelope objects on a Kubernetes API server).
    .target(
      name: "WarrenKubernetes",
      dependencies: [
        "WarrenPrimitives",
        "WarrenCrypto",
        "WarrenSignaling",
        "WarrenWire",
        "WarrenYAML",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Yams", package: "Yams"),
      ],
      swiftSettings: swiftSettings
    ),
    // For tests only: the part of the Kubernetes API the `k8s://` backend uses, with its semantics
    // (discovery, generateName, list, chunked watch with bookmarks, 410 Gone, delete, bearer tokens,
    // client certificates, TLS).
    .target(
      name: "KubernetesTestAPIServer",
      dependencies: [
        "WarrenPrimitives",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: swiftSettings
    ),
    // Layer 3: the `grpc://` backend (a client of cunicu's Signaling service).
    .target(
      name: "WarrenGRPC",
      dependencies: [
        "WarrenCrypto",
        "WarrenPrimitives",
        "WarrenSignaling",
        "WarrenWire",
        "WarrenWireGRPC",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    // Layer 3: `warren signal`, the stateless relay of sealed envelopes and the relay registry.
    // The server end of an HTTP/2 connection with its own HPACK, for `warren signal`'s many idle
    // connections (docs/http2.md). NIOHTTP2's frame and header types are its currency.
    .target(
      name: "WarrenHTTP2",
      dependencies: [
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
      ],
      swiftSettings: swiftSettings
    ),
    .target(
      name: "WarrenSignalServer",
      dependencies: [
        "WarrenCrypto",
        "WarrenHTTP2",
        "WarrenListener",
        "WarrenPrimitives",
        "WarrenSTUN",
        "WarrenWire",
        "WarrenWireGRPC",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // Layer 3: the replicas of a clustered `warren signal`, joined by PostgreSQL LISTEN/NOTIFY.
    .target(
      name: "WarrenCluster",
      dependencies: [
        "WarrenCrypto",
        "WarrenPrimitives",
        "WarrenSignalServer",
        "WarrenSignaling",
        "WarrenWire",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // The command-line tool.
    // Every decoder that takes bytes from strangers, as a function of arbitrary input: what the
    // fuzzer (warren-fuzz) and the corpus replay tests (WarrenFuzzTests) run. docs/hardening.md.
    .target(
      name: "WarrenFuzzTargets",
      dependencies: [
        "WarrenCluster",
        "WarrenCrypto",
        "WarrenDaemon",
        "WarrenDiscovery",
        "WarrenICE",
        "WarrenKubernetes",
        "WarrenNetlink",
        "WarrenPrimitives",
        "WarrenSTUN",
        "WarrenSession",
        "WarrenSignalServer",
        "WarrenSignaling",
        "WarrenTURN",
        "WarrenWire",
        "WarrenWireGuard",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    // libFuzzer's entry point when built by scripts/fuzz.sh (-sanitize=fuzzer, WARREN_LIBFUZZER);
    // otherwise a command that runs saved inputs through a target (to reproduce a finding).
    // The declaration of libFuzzer's driver, which warren-fuzz calls (C, as libFuzzer declares it).
    .target(name: "WarrenLibFuzzer"),
    .executableTarget(
      name: "warren-fuzz",
      dependencies: ["WarrenFuzzTargets", "WarrenLibFuzzer"],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "warren",
      dependencies: [
        "WarrenArgon2",
        "WarrenCluster",
        "WarrenCrypto",
        "WarrenDaemon",
        "WarrenDiscovery",
        "WarrenICENIO",
        "WarrenGRPC",
        "WarrenKubernetes",
        "WarrenMulticast",
        "WarrenPrimitives",
        "WarrenSession",
        "WarrenSignalServer",
        "WarrenSignaling",
        "WarrenWire",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),

    .testTarget(
      name: "WarrenCryptoTests",
      dependencies: [
        "WarrenCrypto",
        "WarrenPrimitives",
        "WarrenWire",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      resources: [.copy("Vectors")],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenSignalingTests",
      dependencies: [
        "WarrenCrypto",
        "WarrenPrimitives",
        "WarrenSignaling",
        "WarrenTestSupport",
        "WarrenWire",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenSTUNTests",
      dependencies: [
        "WarrenPrimitives",
        "WarrenSTUN",
      ],
      swiftSettings: swiftSettings
    ),
    // For tests only: ICE agents on a simulated network with NATs, in virtual time.
    .target(
      name: "WarrenSimulation",
      dependencies: [
        "WarrenICE",
        "WarrenICEEndpoint",
        "WarrenPrimitives",
        "WarrenSTUN",
        "WarrenTURN",
      ],
      path: "Tests/WarrenSimulation",
      swiftSettings: swiftSettings
    ),
    // For tests only: blocking sockets that play the application, a plain HTTP GET, a manual
    // clock for drivers, and `eventually` for waits on real sockets and processes.
    .target(
      name: "WarrenTestSupport",
      dependencies: [
        "WarrenCrypto",
        "WarrenPrimitives",
        "WarrenDaemon",
        "WarrenICENIO",
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      path: "Tests/WarrenTestSupport",
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenICENIOTests",
      dependencies: [
        "WarrenICE",
        "WarrenICENIO",
        "WarrenPrimitives",
        "WarrenSTUN",
        "WarrenTestSupport",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenICETests",
      dependencies: [
        "WarrenICE",
        "WarrenICEEndpoint",
        "WarrenPrimitives",
        "WarrenSimulation",
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenNetlinkTests",
      dependencies: [
        "WarrenNetlink",
        "WarrenPrimitives",
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenTURNTests",
      dependencies: [
        "WarrenPrimitives",
        "WarrenSTUN",
        "WarrenTURN",
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenMulticastTests",
      dependencies: [
        "WarrenCrypto",
        "WarrenMulticast",
        "WarrenSignaling",
        "WarrenTestSupport",
        "WarrenWire",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenKubernetesTests",
      dependencies: [
        "KubernetesTestAPIServer",
        "WarrenCrypto",
        "WarrenKubernetes",
        "WarrenPrimitives",
        "WarrenSignaling",
        "WarrenTestSupport",
        "WarrenWire",
        "WarrenYAML",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenNFTablesTests",
      dependencies: [
        "WarrenNFTables",
        "WarrenPrimitives",
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenDiscoveryTests",
      dependencies: [
        "WarrenArgon2",
        "WarrenCrypto",
        "WarrenDiscovery",
        "WarrenPrimitives",
        "WarrenWire",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenWireGuardTests",
      dependencies: [
        "WarrenCrypto",
        "WarrenPrimitives",
        "WarrenTestSupport",
        "WarrenWireGuard",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenSessionTests",
      dependencies: [
        "WarrenICE",
        "WarrenPrimitives",
        "WarrenSession",
        "WarrenSimulation",
        "WarrenWire",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenDaemonTests",
      dependencies: [
        "KubernetesTestAPIServer",
        "WarrenCrypto",
        "WarrenDaemon",
        "WarrenDiscovery",
        "WarrenICE",
        "WarrenICENIO",
        "WarrenListener",
        "WarrenKubernetes",
        "WarrenNFTables",
        "WarrenPrimitives",
        "WarrenSession",
        "WarrenSignaling",
        "WarrenTestSupport",
        "WarrenWireGuard",
        "WarrenYAML",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        "WarrenWire",
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenClusterTests",
      dependencies: [
        "WarrenCluster",
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenHTTP2Tests",
      dependencies: [
        "WarrenHTTP2",
        // SplitMix64: the random inputs' seeded generator.
        "WarrenPrimitives",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenSignalServerTests",
      dependencies: [
        "WarrenCrypto",
        "WarrenPrimitives",
        "WarrenSignalServer",
        "WarrenTestSupport",
        "WarrenWire",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenGRPCTests",
      dependencies: [
        // Its certificate authority, for `warren signal` over TLS.
        "KubernetesTestAPIServer",
        "WarrenCrypto",
        "WarrenGRPC",
        "WarrenPrimitives",
        "WarrenSignalServer",
        "WarrenSignaling",
        "WarrenTestSupport",
        "WarrenWire",
        "WarrenWireGRPC",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenFuzzTests",
      dependencies: ["WarrenFuzzTargets"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "WarrenCLITests",
      dependencies: [
        "warren",
        "KubernetesTestAPIServer",
        "WarrenCrypto",
        "WarrenDaemon",
        "WarrenGRPC",
        "WarrenPrimitives",
        "WarrenSession",
        "WarrenSignaling",
        "WarrenTestSupport",
        "WarrenWire",
        "WarrenWireGRPC",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
  ]
)
