// Named views into a slab laid out by `ParameterLayout`: the parameters, the gradients and each AdamW
// moment use the same layout, so the same views serve them all.
// Shape legend: V vocab, P positions, TV token types, C channels, F intermediate size, NL labels.

struct EmbeddingViews {
    let word: UnsafeMutablePointer<Float>            // [V, C]
    let position: UnsafeMutablePointer<Float>        // [P, C]
    let tokenType: UnsafeMutablePointer<Float>       // [TV, C]
    let lnWeight: UnsafeMutablePointer<Float>        // [C]
    let lnBias: UnsafeMutablePointer<Float>          // [C]
}

struct LayerViews {
    let queryWeight: UnsafeMutablePointer<Float>     // [C, C]
    let queryBias: UnsafeMutablePointer<Float>       // [C]
    let keyWeight: UnsafeMutablePointer<Float>       // [C, C]
    let keyBias: UnsafeMutablePointer<Float>         // [C]
    let valueWeight: UnsafeMutablePointer<Float>     // [C, C]
    let valueBias: UnsafeMutablePointer<Float>       // [C]
    let outputWeight: UnsafeMutablePointer<Float>    // [C, C]
    let outputBias: UnsafeMutablePointer<Float>      // [C]
    let ln1Weight: UnsafeMutablePointer<Float>       // [C]
    let ln1Bias: UnsafeMutablePointer<Float>         // [C]
    let intermediateWeight: UnsafeMutablePointer<Float> // [F, C]
    let intermediateBias: UnsafeMutablePointer<Float>   // [F]
    let ffOutputWeight: UnsafeMutablePointer<Float>  // [C, F]
    let ffOutputBias: UnsafeMutablePointer<Float>    // [C]
    let ln2Weight: UnsafeMutablePointer<Float>       // [C]
    let ln2Bias: UnsafeMutablePointer<Float>         // [C]
}

struct ParameterViews {
    let embeddings: EmbeddingViews
    let layers: [LayerViews]
    let classifierWeight: UnsafeMutablePointer<Float> // [NL, C]
    let classifierBias: UnsafeMutablePointer<Float>   // [NL]

    init(base: UnsafeMutablePointer<Float>, layout: ParameterLayout, numLayers: Int) {
        func view(_ name: String) -> UnsafeMutablePointer<Float> {
            guard let entry = layout.entry(named: name) else { preconditionFailure("layout has no \(name)") }
            return base + entry.offset
        }
        embeddings = EmbeddingViews(
            word: view("bert.embeddings.word_embeddings.weight"),
            position: view("bert.embeddings.position_embeddings.weight"),
            tokenType: view("bert.embeddings.token_type_embeddings.weight"),
            lnWeight: view("bert.embeddings.LayerNorm.weight"),
            lnBias: view("bert.embeddings.LayerNorm.bias"))
        layers = (0 ..< numLayers).map { i in
            let p = "bert.encoder.layer.\(i)."
            return LayerViews(
                queryWeight: view(p + "attention.self.query.weight"), queryBias: view(p + "attention.self.query.bias"),
                keyWeight: view(p + "attention.self.key.weight"), keyBias: view(p + "attention.self.key.bias"),
                valueWeight: view(p + "attention.self.value.weight"), valueBias: view(p + "attention.self.value.bias"),
                outputWeight: view(p + "attention.output.dense.weight"),
                outputBias: view(p + "attention.output.dense.bias"),
                ln1Weight: view(p + "attention.output.LayerNorm.weight"),
                ln1Bias: view(p + "attention.output.LayerNorm.bias"),
                intermediateWeight: view(p + "intermediate.dense.weight"),
                intermediateBias: view(p + "intermediate.dense.bias"),
                ffOutputWeight: view(p + "output.dense.weight"), ffOutputBias: view(p + "output.dense.bias"),
                ln2Weight: view(p + "output.LayerNorm.weight"), ln2Bias: view(p + "output.LayerNorm.bias"))
        }
        classifierWeight = view("classifier.weight")
        classifierBias = view("classifier.bias")
    }
}
