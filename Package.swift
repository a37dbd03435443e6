// swift-tools-version: 6.1
import PackageDescription

// SABHA_CORE_ONLY=1 builds MediaCore and its tests alone (no Hummingbird, no jwt-kit): quick iteration
// on the packet path on a 2-core machine. Everything else always builds the whole package.
let coreOnly = Context.environment["SABHA_CORE_ONLY"] != nil
// A hex commit id only, so that it can go into a C string literal as it is.
let buildCommit = Context.environment["SABHA_BUILD_COMMIT"].flatMap { commit in
    commit.allSatisfy(\.isHexDigit) && !commit.isEmpty ? commit : nil
}

let package = Package(
    name: "sabha",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sabha", targets: ["sabha"]),
        .library(name: "MediaCore", targets: ["MediaCore"]),
        // For tools/fuzz (a package of its own): the parsers of the signalling and groupware side.
        .library(name: "Signalling", targets: ["Signalling"]),
        .library(name: "GroupwareBridge", targets: ["GroupwareBridge"]),
        .library(name: "Scheduling", targets: ["Scheduling"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.6.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.3.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        // The store that several nodes share (`--database postgres://…`).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Already resolved for jwt-kit; Signalling uses its HMAC-SHA1 for TURN credentials.
        .package(url: "https://github.com/apple/swift-crypto.git", "4.1.0"..<"6.0.0"),
    ],
    targets: [
        // Thin C shims: only what Swift cannot import directly.
        .systemLibrary(
            name: "CSRTP",
            path: "Sources/CSRTP",
            pkgConfig: "libsrtp2",
            providers: [.apt(["libsrtp2-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // What `sabha version` says about the build: the commit, from SABHA_BUILD_COMMIT (tools/package-deb.sh sets it).
        .target(
            name: "CSabhaBuild",
            path: "Sources/CSabhaBuild",
            cSettings: buildCommit.map { [.define("SABHA_BUILD_COMMIT", to: "\"\($0)\"")] } ?? []
        ),
        // libvpx and libopus for recordings (and their tests): only the macros and unions Swift cannot import.
        .systemLibrary(name: "CVPX", path: "Sources/CVPX", pkgConfig: "vpx", providers: [.apt(["libvpx-dev"])]),
        .systemLibrary(name: "COpus", path: "Sources/COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .target(
            name: "CMediaShims",
            dependencies: ["COpenSSL"],
            path: "Sources/CMediaShims"
        ),

        // The SFU: packets in, packets out.
        .target(
            name: "MediaCore",
            dependencies: [
                "CSRTP", "COpenSSL", "CMediaShims",
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        // Recordings: RTP back into frames, frames into WebM files.
        .target(
            name: "Recording",
            dependencies: ["MediaCore", .product(name: "Logging", package: "swift-log")]
        ),
        // A recording's tracks decoded, laid out, mixed and encoded again as one file (and an audio-only one).
        .target(
            name: "Composition",
            dependencies: ["Recording", "CVPX", "COpus", .product(name: "Logging", package: "swift-log")]
        ),
        // HTTP, WHIP/WHEP, SDP, tokens, meetings, the admin API and its SQLite store.
        .target(
            name: "Signalling",
            dependencies: [
                "MediaCore", "Recording", "Composition", "Scheduling", "GroupwareBridge",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                // Requests between the nodes of a cluster (relays); already built for the calendars.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            resources: [.copy("Public")]
        ),
        // Scheduled meetings: their store, the outbox and its relay, the resource calendar's watcher.
        .target(
            name: "Scheduling",
            dependencies: [
                "GroupwareBridge",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Mail and calendar protocols only: iCalendar, iTIP/iMIP, SMTP, CalDAV. No store, no meetings.
        .target(
            name: "GroupwareBridge",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The same store in PostgreSQL, shared by the nodes of a cluster.
        .target(
            name: "PostgresStore",
            dependencies: [
                "Signalling", "Scheduling",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "sabha",
            dependencies: [
                "Signalling", "Scheduling", "PostgresStore", "GroupwareBridge", "MediaCore", "Recording", "Composition", "CSabhaBuild",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        // What the test targets share (seeded random input, hex vectors, fixtures). Not a product.
        .target(
            name: "SabhaTestSupport",
            path: "Tests/SabhaTestSupport"
        ),
        // Real mail and calendar servers (aiosmtpd, Radicale from <repo>/.venv) for the GroupwareBridge and Scheduling
        // tests. Apart from SabhaTestSupport, which depends on nothing (MediaCoreTests use it in SABHA_CORE_ONLY builds).
        .target(
            name: "GroupwareTestSupport",
            dependencies: [
                "GroupwareBridge",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/GroupwareTestSupport"
        ),
        .testTarget(
            name: "MediaCoreTests",
            dependencies: ["MediaCore", "CSRTP", "COpenSSL", "SabhaTestSupport"],
            exclude: ["Regressions"]  // fuzz crash inputs, read from disk by FuzzRegressionTests
        ),
        .testTarget(
            name: "RecordingTests",
            dependencies: ["Recording", "Composition", "MediaCore", "CVPX", "COpus", "SabhaTestSupport",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SignallingTests",
            dependencies: [
                "Signalling", "SabhaTestSupport", "MediaCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "GroupwareBridgeTests",
            dependencies: [
                "GroupwareBridge", "GroupwareTestSupport", "SabhaTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["Regressions"]
        ),
        // Every store operation against both stores: SQLite, and a PostgreSQL cluster the tests start themselves.
        .testTarget(
            name: "StoreTests",
            dependencies: [
                "PostgresStore", "Signalling", "Scheduling", "GroupwareBridge", "SabhaTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SchedulingTests",
            dependencies: [
                "Scheduling", "GroupwareBridge", "GroupwareTestSupport", "SabhaTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)

// Every Swift target: existentials spelt `any`, and members visible only through a module's own imports (as in
// tools/loadgen and Hummingbird).
let swiftTargets: Set<String> = ["MediaCore", "Recording", "Composition", "RecordingTests", "Signalling", "Scheduling", "GroupwareBridge", "sabha", "SabhaTestSupport",
                                 "GroupwareTestSupport", "MediaCoreTests", "SignallingTests", "SchedulingTests",
                                 "GroupwareBridgeTests", "PostgresStore", "StoreTests"]
for target in package.targets where swiftTargets.contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
    ]
}

if coreOnly {
    let keep: Set<String> = ["CSRTP", "COpenSSL", "CMediaShims", "MediaCore", "SabhaTestSupport", "MediaCoreTests"]
    package.targets.removeAll { !keep.contains($0.name) }
    package.products = [.library(name: "MediaCore", targets: ["MediaCore"])]
    package.dependencies = [.package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0")]
}
