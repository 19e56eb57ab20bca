/// Linear warmup from 0 to the peak rate, then linear decay to 0 at the last step,
/// as transformers' `get_linear_schedule_with_warmup`.
public struct LinearWarmupDecay: Sendable, Equatable, Codable {
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Float, warmupSteps: Int, totalSteps: Int) {
        precondition(totalSteps > 0, "a schedule needs at least one step")
        self.peak = peak
        self.warmupSteps = max(0, min(warmupSteps, totalSteps))
        self.totalSteps = totalSteps
    }

    /// The rate for optimizer step `step` (0-based: the first update uses step 0).
    public func rate(at step: Int) -> Float {
        if step < warmupSteps {
            return peak * Float(step) / Float(max(1, warmupSteps))
        }
        let remaining = Float(totalSteps - step) / Float(max(1, totalSteps - warmupSteps))
        return peak * max(0, remaining)
    }
}
