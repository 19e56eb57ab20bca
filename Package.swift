// swift-tools-version:6.0
import PackageDescription

/// One set of compiler settings for every target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "bert-tagger",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bert-tagger", targets: ["bert-tagger"]),
        .library(name: "BertTagger", targets: ["Tokenizer", "Datasets", "SeqEval", "SafeTensors", "Tensors", "BERT", "Tagger", "Training", "FileIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // The processor's instruction sets (CPUID, XGETBV).
        .target(name: "CCPUFeatures"),
        // Element-wise kernels compiled for each instruction set and picked by the processor at load.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // oneDNN, loaded at run time where the system has it (Debian: libdnnl2; headers from libdnnl-dev).
        .target(name: "CDNNL", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        // Matrix products: OpenBLAS (loaded at run time) on Linux; Accelerate's BLAS on Apple platforms.
        .target(
            name: "Tensors",
            dependencies: ["CCPUFeatures", "CDNNL", "CKernels"],
            swiftSettings: swiftSettings,
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS, .iOS]))]
        ),
        // Open MPI, loaded at run time under `mpirun` (Debian: openmpi-bin); no MPI header is needed to build.
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        // The ranks of a run and their collectives; one process alone where MPI is absent.
        .target(name: "DataParallel", dependencies: ["CMPI"], swiftSettings: swiftSettings),
        .target(name: "StrictJSON", swiftSettings: swiftSettings),
        // Writing outputs without damaging what a path points at; file errors in plain words.
        .target(name: "FileIO", swiftSettings: swiftSettings),
        .target(name: "SafeTensors", dependencies: ["StrictJSON", "FileIO"], swiftSettings: swiftSettings),
        .target(name: "Tokenizer", dependencies: ["StrictJSON", "FileIO"], swiftSettings: swiftSettings),
        .target(name: "SeqEval", swiftSettings: swiftSettings),
        .target(name: "Datasets", dependencies: ["Tokenizer", "SeqEval", "FileIO"], swiftSettings: swiftSettings),
        .target(name: "BERT", dependencies: ["Tensors", "SafeTensors", "CKernels", "FileIO"], swiftSettings: swiftSettings),
        // Inference: model directory + text -> entities; links no training code.
        .target(name: "Tagger", dependencies: ["BERT", "Datasets", "SeqEval", "StrictJSON", "Tensors", "Tokenizer", "FileIO"],
                swiftSettings: swiftSettings),
        // The HTTP service: one build function, one handler per route, a queue that packs requests into Tagger calls.
        .target(
            name: "TaggerServer",
            dependencies: [
                "Tagger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "Training", dependencies: ["BERT", "Datasets", "SeqEval", "Tagger", "FileIO", "DataParallel"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "bert-tagger",
            dependencies: [
                "Tokenizer", "Datasets", "SeqEval", "SafeTensors", "Tensors", "BERT", "Tagger", "TaggerServer", "Training", "FileIO",
                "DataParallel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bert-tagger-bench",
            dependencies: [
                "Tokenizer", "Datasets", "SeqEval", "Tensors", "BERT", "Tagger", "Training", "DataParallel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/bert-tagger-bench",
            swiftSettings: swiftSettings
        ),
        // Runs each collective under `mpirun` for DataParallelTests.
        .executableTarget(name: "collectives-probe", dependencies: ["DataParallel"], path: "Tests/CollectivesProbe",
                          swiftSettings: swiftSettings),
        .testTarget(name: "DataParallelTests", dependencies: ["DataParallel", "BERT", "SafeTensors", "collectives-probe", "bert-tagger"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "FileIOTests", dependencies: ["FileIO"], swiftSettings: swiftSettings),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"], swiftSettings: swiftSettings),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "SeqEvalTests", dependencies: ["SeqEval"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tokenizer", "SeqEval"], swiftSettings: swiftSettings),
        .testTarget(name: "BERTTests", dependencies: ["BERT", "Tensors", "SafeTensors"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Tagger", "BERT", "Datasets", "SeqEval", "SafeTensors", "Tensors", "DataParallel"], swiftSettings: swiftSettings),
        .testTarget(name: "TaggerTests", dependencies: ["Tagger", "BERT", "Datasets", "SeqEval", "SafeTensors", "Tensors", "Tokenizer"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "TaggerServerTests",
            dependencies: [
                "TaggerServer", "Tagger", "BERT", "SafeTensors", "Tensors",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "BertTaggerCLITests", dependencies: ["bert-tagger"], swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v5]
)
