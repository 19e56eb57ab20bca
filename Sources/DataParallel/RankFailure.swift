import Foundation

/// A failure of work one rank does alone (its share of the input, rank 0's writes): under MPI the rank that met
/// it tells it, with its number, since no other rank knows it.
public struct RankFailure: Error, CustomStringConvertible {
    public let underlying: any Error
    public init(_ underlying: any Error) { self.underlying = underlying }
    public var description: String { String(describing: underlying) }

    /// Seconds a rank other than 0 waits before telling a failure every rank meets (a bad option, a file they
    /// all read, a collective that failed): rank 0 tells it and ends the job in the meantime. Should rank 0 not
    /// have met it after all (a file missing on one host only), the rank tells it itself once this has passed.
    public static let sharedFailureGrace: TimeInterval = 10

    /// This rank of the job `mpirun` started and the job's size, from the launcher's environment; nil alone.
    public static func launcherRank(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> (rank: Int, size: Int)? {
        guard let rank = environment["OMPI_COMM_WORLD_RANK"].flatMap(Int.init),
              let size = environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init), size > 1 else { return nil }
        return (rank, size)
    }
}

extension Communicator {
    /// Runs `body`, work of this rank alone: under MPI an error it throws becomes this rank's `RankFailure`.
    public func alone<Result>(_ body: () throws -> Result) throws -> Result {
        guard size > 1 else { return try body() }
        do { return try body() } catch let failure as RankFailure { throw failure } catch { throw RankFailure(error) }
    }
}
