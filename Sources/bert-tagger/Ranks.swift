import ArgumentParser
import DataParallel
import FileIO
import Foundation

/// Runs a command's work as one rank of the job `mpirun` started, or alone. Under MPI a failure on any rank
/// ends every rank (MPI_Abort), so that none waits forever in a collective the failed one will never join.
/// It is told once: a failure every rank meets (a file they all read, a collective that failed) by rank 0
/// alone, as a single process tells it; a failure of one rank's own work (its share of the input, rank 0's
/// writes) by that rank, with its number.
func runAsRank<Result>(_ body: (any Communicator) throws -> Result) throws -> Result {
    let world = try World.join()
    do {
        let result = try body(world)
        world.finalize()
        return result
    } catch let code as ExitCode {
        // Every rank leaves together (an interrupted run that saved its state).
        world.finalize()
        throw code
    } catch {
        let failure = (error as? RankFailure)?.underlying ?? error
        guard world.size > 1 else { throw failure }
        // Only rank 0 writes files: a write that failed is its own.
        let own = error is RankFailure || failure is OutputFileError
        tellFailure(PlainFileError(failure)?.description ?? String(describing: failure), rank: world.rank, size: world.size,
                    own: own, collective: failure is CommunicatorError)
        world.abortAll(code: 1)
        throw failure
    }
}

/// Prints an error of rank `rank` of `size` under MPI as `runAsRank` decides; a rank other than 0 meeting a
/// failure every rank shares first gives rank 0 the time to tell it and end the job.
/// A collective that failed mostly means another rank ended, which tells its own failure: rank 0 waits a moment
/// before telling the collective's.
func tellFailure(_ message: String, rank: Int, size: Int, own: Bool, collective: Bool = false) {
    if !own && rank != 0 {
        Thread.sleep(forTimeInterval: RankFailure.sharedFailureGrace)
    } else if collective {
        Thread.sleep(forTimeInterval: 2)
    }
    let who = own || rank != 0 ? " (rank \(rank) of \(size))" : ""
    FileHandle.standardError.write(Data("Error\(who): \(message)\n".utf8))
}

/// Cores per rank when --threads is not given: the ranks on one host share its cores.
func defaultThreadCount() -> Int {
    max(1, ProcessInfo.processInfo.activeProcessorCount / World.localRanks())
}
