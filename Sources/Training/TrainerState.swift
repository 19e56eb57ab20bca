import Foundation

/// Where a run stands, saved beside the last weights and optimizer moments so `--resume` continues
/// exactly where the run stopped.
public struct TrainerState: Codable, Sendable, Equatable {
    /// The epoch in progress (0-based) and the next micro-batch of its plan.
    public var epoch: Int = 0
    public var nextBatch: Int = 0
    /// Optimizer steps taken.
    public var step: Int = 0
    /// Training forwards run so far: keys the dropout masks of the next one.
    public var trainingForwards: UInt64 = 0
    public var bestScore: Double?
    public var bestStep: Int?
    public var evaluationsWithoutImprovement: Int = 0
    /// Wall-clock seconds spent training before this process started.
    public var elapsedSeconds: Double = 0
    public var finished: Bool = false
    /// Ranks of the run that saved the state (nil: one process, in states saved before data-parallel runs).
    public var ranks: Int?

    public init() {}
}
