import Foundation

/// The group this process belongs to: MPI's world when `mpirun` (or `srun` with PMIx) started it, else one
/// process alone. Nothing loads libmpi in a process that was not started by an MPI launcher, so a machine
/// without Open MPI runs everything else as before.
public enum World {
    /// Variables Open MPI's launcher sets in every rank's environment.
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"]

    /// Whether an MPI launcher started this process.
    public static func launchedByMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        launcherVariables.contains { environment[$0] != nil }
    }

    /// Ranks of this job on this host (OMPI_COMM_WORLD_LOCAL_SIZE), 1 alone: they share its cores.
    public static func localRanks(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init).map { max(1, $0) } ?? 1
    }

    /// Joins MPI's world when launched by `mpirun`, else returns a group of one.
    public static func join(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Communicator {
        guard launchedByMPI(environment) else { return SingleProcess() }
        return try MPICommunicator()
    }
}
