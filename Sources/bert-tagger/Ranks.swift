import ArgumentParser
import DataParallel
import Foundation

/// Runs a command's work as one rank of the job `mpirun` started, or alone. Under MPI a failure on any rank
/// ends every rank (MPI_Abort), so that none waits forever in a collective the failed one will never join;
/// the error is told once by the rank that met it.
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
        guard world.size > 1 else { throw error }
        let message = PlainFileError(error)?.description ?? String(describing: error)
        let who = world.isRoot ? "" : " (rank \(world.rank) of \(world.size))"
        FileHandle.standardError.write(Data("Error\(who): \(message)\n".utf8))
        world.abortAll(code: 1)
        throw error
    }
}

/// Cores per rank when --threads is not given: the ranks on one host share its cores.
func defaultThreadCount() -> Int {
    max(1, ProcessInfo.processInfo.activeProcessorCount / World.localRanks())
}
