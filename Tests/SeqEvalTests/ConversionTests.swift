import Testing
import SeqEval

/// SplitMix64: a small seeded generator, so the random span sets are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private func tags(_ text: String) -> [String] { text.split(separator: " ").map(String.init) }

@Suite("scheme encoding and conversion")
struct ConversionTests {
    let spans = [Entity(type: "PER", start: 0, end: 1), Entity(type: "PER", start: 1, end: 3),
                 Entity(type: "LOC", start: 3, end: 4), Entity(type: "creative-work", start: 5, end: 7)]

    @Test func eachSchemeEncodesSpansAsSpecified() {
        let expected: [TaggingScheme: String] = [
            .iob1: "I-PER B-PER I-PER I-LOC O I-creative-work I-creative-work",
            .iob2: "B-PER B-PER I-PER B-LOC O B-creative-work I-creative-work",
            .ioe1: "E-PER I-PER I-PER I-LOC O I-creative-work I-creative-work",
            .ioe2: "E-PER I-PER E-PER E-LOC O I-creative-work E-creative-work",
            .iobes: "S-PER B-PER E-PER S-LOC O B-creative-work E-creative-work",
            .bilou: "U-PER B-PER L-PER U-LOC O B-creative-work L-creative-work",
        ]
        for scheme in TaggingScheme.allCases {
            #expect(scheme.tags(for: spans.reversed(), count: 7) == tags(expected[scheme]!), "\(scheme)")
            for tag in scheme.tags(for: spans, count: 7) { #expect(scheme.isValid(tag), "\(scheme) \(tag)") }
        }
    }

    @Test func conversionGoesThroughSpans() {
        #expect(convert(tags("B-PER I-PER O B-LOC"), from: .iob2, to: .bilou) == tags("B-PER L-PER O U-LOC"))
        #expect(convert(tags("I-PER I-PER B-PER"), from: .iob1, to: .iobes) == tags("B-PER E-PER S-PER"))
        // Ill-formed chunks of the source scheme are dropped.
        #expect(convert(tags("O I-PER I-PER"), from: .iob2, to: .iobes) == tags("O O O"))
    }

    @Test func conversionRoundTripsRandomSpanSetsBetweenEverySchemePair() {
        var generator = SeededGenerator(state: 2003)
        let types = ["PER", "LOC", "creative-work"]
        for _ in 0..<400 {
            let count = Int.random(in: 0...12, using: &generator)
            var entities: [Entity] = []
            var position = 0
            while position < count {
                if Bool.random(using: &generator) {
                    let end = min(count, position + Int.random(in: 1...3, using: &generator))
                    entities.append(Entity(type: types.randomElement(using: &generator)!, start: position, end: end))
                    position = end
                } else {
                    position += 1
                }
            }
            for from in TaggingScheme.allCases {
                let source = from.tags(for: entities, count: count)
                for to in TaggingScheme.allCases {
                    let target = convert(source, from: from, to: to)
                    #expect(target == to.tags(for: entities, count: count), "\(from) -> \(to): \(source)")
                    #expect(convert(target, from: to, to: from) == source, "\(from) -> \(to) -> \(from): \(source)")
                }
                if from != .ioe1 {
                    #expect(from.entities(in: source) == entities, "\(from): \(source)")
                }
            }
        }
    }

    @Test func seqevalIOE1ReadingLosesOnlyOneTokenEntitiesBeforeTheSameType() {
        // The one place where the scorer's IOE1 reading (seqeval's) and conversion's differ.
        let entities = [Entity(type: "PER", start: 0, end: 1), Entity(type: "PER", start: 1, end: 2)]
        let source = TaggingScheme.ioe1.tags(for: entities, count: 2)
        #expect(source == ["E-PER", "I-PER"])
        #expect(TaggingScheme.ioe1.entities(in: source) == [entities[1]])
        #expect(convert(source, from: .ioe1, to: .iob2) == ["B-PER", "B-PER"])
    }
}
