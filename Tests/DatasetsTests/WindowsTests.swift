import Testing
@testable import Datasets

@Suite struct WindowsTests {
    /// A sentence whose word `i` has `pieceCounts[i]` pieces.
    func sentence(_ pieceCounts: [Int]) -> (Sentence, EncodedSentence) {
        var starts: [Int32] = [0]
        for count in pieceCounts { starts.append(starts.last! + Int32(count)) }
        let encoded = EncodedSentence(pieceIDs: (0..<Int(starts.last!)).map { Int32($0) }, wordStarts: starts)
        let words = pieceCounts.enumerated().map { "w\($0.offset)" }
        return (Sentence(words: words, line: 10), encoded)
    }

    @Test func aSentenceThatFitsIsOneWindowOwningEveryWord() throws {
        let (s, e) = sentence([1, 2, 3])
        let windows = try Windowing(maxLength: 8).windows(of: e, sentence: s, index: 4, file: "f")
        #expect(windows == [SequenceWindow(sentence: 4, window: 0, words: 0..<3, ownedWords: 0..<3, pieces: 0..<6)])
        #expect(windows[0].tokenCount == 8)
    }

    @Test func eachWordBelongsToTheWindowWhereItHasTheMostContext() throws {
        let (s, e) = sentence(Array(repeating: 1, count: 10))
        let windows = try Windowing(maxLength: 8, stride: 3).windows(of: e, sentence: s, index: 0, file: "f")
        #expect(windows.map(\.words) == [0..<6, 3..<9, 6..<10])
        #expect(windows.map(\.ownedWords) == [0..<5, 5..<8, 8..<10])
        #expect(windows.map(\.window) == [0, 1, 2])
    }

    @Test func strideZeroMakesWindowsThatDoNotOverlap() throws {
        let (s, e) = sentence([2, 2, 2, 2, 2])
        let windows = try Windowing(maxLength: 6, stride: 0).windows(of: e, sentence: s, index: 0, file: "f")
        #expect(windows.map(\.words) == [0..<2, 2..<4, 4..<5])
        #expect(windows.map(\.ownedWords) == windows.map(\.words))
    }

    @Test func theLargestStrideStillMakesProgress() throws {
        let (s, e) = sentence(Array(repeating: 1, count: 7))
        let windows = try Windowing(maxLength: 6, stride: 3).windows(of: e, sentence: s, index: 0, file: "f")
        #expect(windows.map(\.words) == [0..<4, 1..<5, 2..<6, 3..<7])
        try checkInvariants(windows, e, Windowing(maxLength: 6, stride: 3))
    }

    @Test func aWordLongerThanAWindowNamesItsLineAndText() throws {
        let (s, e) = sentence([1, 1, 7, 1])
        let error = datasetError { _ = try Windowing(maxLength: 8, stride: 1).windows(of: e, sentence: s, index: 0, file: "train.txt") }
        #expect(error == .wordTooLong(file: "train.txt", line: 12, word: "w2", pieces: 7, maxLength: 8))
        #expect(error?.description.hasPrefix("train.txt:12: the word \"w2\" has 7 sub-word pieces") == true)
    }

    @Test func impossibleOptionsAreRejected() throws {
        #expect(datasetError { _ = try Windowing(maxLength: 2) } != nil)
        #expect(datasetError { _ = try Windowing(maxLength: 10, stride: 8) } != nil)
        #expect(datasetError { _ = try Windowing(maxLength: 10, stride: -1) } != nil)
        #expect((try? Windowing(maxLength: 10, stride: 7)) != nil)
        #expect(try Windowing(maxLength: 512).stride == 128)
        #expect(try Windowing(maxLength: 34).stride == 8)
    }

    @Test func everyWordIsPredictedExactlyOnceForRandomSentencesAndStrides() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<400 {
            let maxLength = 3 + random.next(below: 30)
            let capacity = maxLength - 2
            let windowing = try Windowing(maxLength: maxLength, stride: random.next(below: capacity))
            let wordCount = 1 + random.next(below: 60)
            let maxPieces = 1 + random.next(below: min(capacity, 5))
            let (s, e) = sentence((0..<wordCount).map { _ in 1 + random.next(below: maxPieces) })
            let windows = try windowing.windows(of: e, sentence: s, index: 0, file: "f")
            try checkInvariants(windows, e, windowing)
        }
    }

    func checkInvariants(_ windows: [SequenceWindow], _ e: EncodedSentence, _ windowing: Windowing,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        var owners = [Int](repeating: 0, count: e.wordCount)
        for (i, window) in windows.enumerated() {
            #expect(window.tokenCount <= windowing.maxLength, sourceLocation: sourceLocation)
            #expect(window.pieces == Int(e.wordStarts[window.words.lowerBound])..<Int(e.wordStarts[window.words.upperBound]),
                    sourceLocation: sourceLocation)
            #expect(window.ownedWords.lowerBound >= window.words.lowerBound && window.ownedWords.upperBound <= window.words.upperBound,
                    sourceLocation: sourceLocation)
            #expect(!window.ownedWords.isEmpty, sourceLocation: sourceLocation)
            #expect(window.window == i, sourceLocation: sourceLocation)
            if i > 0 {
                let previous = windows[i - 1]
                #expect(window.words.lowerBound > previous.words.lowerBound, sourceLocation: sourceLocation)
                #expect(window.words.lowerBound <= previous.words.upperBound, sourceLocation: sourceLocation)
                #expect(window.ownedWords.lowerBound == previous.ownedWords.upperBound, sourceLocation: sourceLocation)
                let overlap = previous.words.clamped(to: window.words)
                let overlapPieces = overlap.isEmpty ? 0 : Int(e.wordStarts[overlap.upperBound] - e.wordStarts[overlap.lowerBound])
                #expect(overlapPieces <= windowing.stride, sourceLocation: sourceLocation)
            }
            for w in window.ownedWords { owners[w] += 1 }
        }
        #expect(owners.allSatisfy { $0 == 1 }, "every word owned exactly once", sourceLocation: sourceLocation)
        #expect(windows.first?.words.lowerBound == 0 && windows.last?.words.upperBound == e.wordCount, sourceLocation: sourceLocation)
    }
}
