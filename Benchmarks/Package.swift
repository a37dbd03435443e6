// swift-tools-version: 6.1
// package-benchmark suites for the packet path, kept out of the main package so that `swift build` of the
// server does not compile the benchmark harness. Run: `cd Benchmarks && swift package benchmark`.
import PackageDescription

let package = Package(
    name: "sabha-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "sabha", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MediaCoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MediaCore", package: "sabha"),
            ],
            path: "Benchmarks/MediaCoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Pushes K packets through WorkerBench (the worker's own path, what the Forward.* benchmarks run) for callgrind's
        // instruction counts: tools/bench/callgrind.sh. Depends on MediaCore only, not on the harness. It lives
        // under Probes/, not Benchmarks/: the benchmark plugin runs every executable target in a Benchmarks/ folder.
        .executableTarget(
            name: "ForwardingProbe",
            dependencies: [.product(name: "MediaCore", package: "sabha")],
            path: "Probes/ForwardingProbe"
        ),
    ]
)
