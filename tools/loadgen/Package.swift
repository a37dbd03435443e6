// swift-tools-version: 6.1
// The load generator: real WebRTC publishers and subscribers (ICE, DTLS-SRTP, RTCP) sending VP8 and Opus,
// built from MediaCore's parts. A package of its own, like Benchmarks/, so that `swift build` of the server
// never compiles it (nor links libvpx/libopus). Build: `cd tools/loadgen && swift build -c release`.
import PackageDescription

let package = Package(
    name: "sabha-loadgen",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "sabha", path: "../.."),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
    ],
    targets: [
        // Thin shims over what Swift cannot import from the codec libraries (macros, unions).
        .systemLibrary(name: "CVPX", path: "Sources/CVPX", pkgConfig: "vpx", providers: [.apt(["libvpx-dev"])]),
        .systemLibrary(name: "COpus", path: "Sources/COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        // GNU-only socket calls (recvmmsg/sendmmsg with receive timestamps) and epoll.
        .target(name: "CLoadgenNet", path: "Sources/CLoadgenNet"),
        .executableTarget(
            name: "sabha-loadgen",
            dependencies: [
                "CVPX", "COpus", "CLoadgenNet",
                .product(name: "MediaCore", package: "sabha"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        ),
    ]
)
