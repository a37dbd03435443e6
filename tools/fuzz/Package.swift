// swift-tools-version: 6.1
// libFuzzer targets for every parser and stateful helper that bytes from the network reach
// (docs/reliability.md). A package of its own, like tools/loadgen, so that `swift build` of the server
// never compiles it; tools/fuzz.sh builds it with
//   swift build -c release --sanitize fuzzer --sanitize address -Xswiftc -enable-testing \
//       -Xswiftc -no-whole-module-optimization --disable-dead-strip
// (-enable-testing for @testable import: the helpers are internal; without WMO and without dead stripping,
// or the compiler may leave out, and the linker drops, the coverage counters). The harnesses live in Targets/ and
// are linked into the executables and into the test targets (Tests/*/FuzzTargets), which replay the saved crash
// inputs through the same code.
// SABHA_CORE_ONLY=1 builds sabha-fuzz-media alone, without the HTTP and groupware dependencies.
import PackageDescription

let coreOnly = Context.environment["SABHA_CORE_ONLY"] != nil
let entryPoint: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "sabha-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "sabha", path: "../..")],
    targets: [
        .executableTarget(
            name: "sabha-fuzz-media",
            dependencies: [.product(name: "MediaCore", package: "sabha")],
            swiftSettings: entryPoint
        ),
    ] + (coreOnly ? [] : [
        .executableTarget(
            name: "sabha-fuzz-signalling",
            dependencies: [
                .product(name: "Signalling", package: "sabha"),
                .product(name: "GroupwareBridge", package: "sabha"),
                .product(name: "Scheduling", package: "sabha"),
            ],
            swiftSettings: entryPoint
        ),
    ])
)
