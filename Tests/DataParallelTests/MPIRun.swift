import Foundation

/// Runs executables under Open MPI's `mpirun` on this machine: ranks talk TCP over the loopback interface, as
/// they would between hosts. Open MPI refuses to start as root unless told it may; CI containers run as root,
/// so the test environment says so (users' runs are untouched).
enum MPIRun {
    static var mpirun: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let environment = [
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        // Two cores may be shared by more ranks than they hold.
        "OMPI_MCA_rmaps_base_oversubscribe": "1",
    ]

    static let loopback = ["--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo",
                           "--mca", "oob_tcp_if_include", "lo", "--bind-to", "none"]

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// `mpirun -np ranks executable arguments…`
    static func run(ranks: Int, _ executable: URL, _ arguments: [String], extraEnvironment: [String: String] = [:]) throws -> Result {
        guard let mpirun else { throw MPIRunMissing() }
        return try runProcess(URL(fileURLWithPath: mpirun),
                              ["-np", String(ranks)] + loopback + [executable.path] + arguments,
                              environment: environment.merging(extraEnvironment) { $1 })
    }

    static func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        final class Box: @unchecked Sendable { var data = Data() }  // written before leave(), read after wait()
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = error.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// An executable `swift build` placed in the products directory beside the test bundle.
    static func product(_ name: String) -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent(name)
    }
}

struct MPIRunMissing: Error, CustomStringConvertible {
    var description: String { "mpirun not found: install Open MPI (bash Scripts/setup.sh installs openmpi-bin)" }
}
