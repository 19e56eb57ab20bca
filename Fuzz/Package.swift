// swift-tools-version:6.0
// libFuzzer targets for every parser of user files. A package of its own, so that the root package's
// `swift build` and `swift test` never see executables without a `main`: libFuzzer supplies that, and
// only when everything is built with `--sanitize=fuzzer` (Scripts/fuzz.sh does it).
import PackageDescription

/// Each target is one `LLVMFuzzerTestOneInput` function and no top-level code.
let fuzzSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

/// (executable, libraries of the root package it exercises)
let targets: [(String, [String])] = [
    ("fuzz-strict-json", ["StrictJSON"]),
    ("fuzz-conll", ["Datasets"]),
    ("fuzz-jsonl", ["Datasets"]),
    ("fuzz-label-names", ["Datasets"]),
    ("fuzz-config", ["BERT"]),
    ("fuzz-tokenizer-json", ["Tokenizer"]),
    ("fuzz-vocab-txt", ["Tokenizer"]),
    ("fuzz-tokenizer-config", ["Tokenizer"]),
    ("fuzz-tokenizer-text", ["Tokenizer"]),
    ("fuzz-safetensors", ["SafeTensors"]),
    ("fuzz-tagging-settings", ["Tagger"]),
]

let package = Package(
    name: "bert-tagger-fuzz",
    dependencies: [.package(name: "bert-tagger", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "BertTagger", package: "bert-tagger")]),
    ] + targets.map { name, _ in
        .executableTarget(name: name, dependencies: ["FuzzSupport", .product(name: "BertTagger", package: "bert-tagger")],
                          swiftSettings: fuzzSettings)
    },
    swiftLanguageModes: [.v5]
)
