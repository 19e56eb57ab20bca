import Testing
@testable import Training

@Suite struct LearningRateScheduleTests {
    @Test func warmsUpLinearlyThenDecaysToZero() {
        // transformers' get_linear_schedule_with_warmup(num_warmup_steps=10, num_training_steps=100), peak 1e-4.
        // Rates are Float: compare to within Float's relative precision (1e-6 of the peak).
        let s = LinearWarmupDecay(peak: 1e-4, warmupSteps: 10, totalSteps: 100)
        #expect(s.rate(at: 0) == 0)
        #expect(abs(s.rate(at: 5) - 5e-5) < 1e-10)
        #expect(abs(s.rate(at: 10) - 1e-4) < 1e-10)
        #expect(abs(s.rate(at: 55) - 5e-5) < 1e-10)
        #expect(s.rate(at: 100) == 0)
        #expect(s.rate(at: 150) == 0)
    }

    @Test func noWarmupStartsAtThePeak() {
        let s = LinearWarmupDecay(peak: 2e-5, warmupSteps: 0, totalSteps: 4)
        #expect(s.rate(at: 0) == 2e-5)
        #expect(abs(s.rate(at: 2) - 1e-5) < 1e-11)
    }
}

@Suite struct GradientClippingTests {
    @Test func scalesOnlyWhenTheNormExceedsTheLimit() {
        var values: [Float] = [3, 4]  // norm 5
        let norm = values.withUnsafeMutableBufferPointer { clipGradientNorm($0, maxNorm: 1) }
        #expect(norm == 5)
        let expected = 1 / (5 + 1e-6 as Float)
        #expect(abs(values[0] - 3 * expected) < 1e-7 && abs(values[1] - 4 * expected) < 1e-7)

        var small: [Float] = [0.3, 0.4]
        _ = small.withUnsafeMutableBufferPointer { clipGradientNorm($0, maxNorm: 1) }
        #expect(small == [0.3, 0.4])
    }

    @Test func gradientNormMatchesDoubleReferenceOnLongOddLengths() {
        var generator = SystemRandomNumberGenerator()
        let values = (0..<100_003).map { _ in Float.random(in: -1...1, using: &generator) }
        let reference = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let norm = values.withUnsafeBufferPointer { gradientNorm($0) }
        #expect(abs(Double(norm) - reference) / reference < 1e-6)
    }
}
