import DataParallel
import Foundation
import Testing

@Suite struct CollectivesUnderMPIRunTests {
    /// Each rank's JSON line, by rank.
    private func probe(ranks: Int) throws -> [Int: [String: Any]] {
        let result = try MPIRun.run(ranks: ranks, MPIRun.product("collectives-probe"), [])
        #expect(result.status == 0, "mpirun exited \(result.status): \(result.stderr)")
        var records: [Int: [String: Any]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            records[try #require(record["rank"] as? Int)] = record
        }
        #expect(records.count == ranks, "one line per rank: \(result.stdout) \(result.stderr)")
        return records
    }

    @Test func everyCollectiveGivesEveryRankTheSumsTheBroadcastAndRootTheGatheredBytes() throws {
        let records = try probe(ranks: 2)
        for rank in 0 ..< 2 {
            let r = try #require(records[rank])
            #expect(r["size"] as? Int == 2)
            #expect(r["summary"] as? String == "Open MPI, rank \(rank) of 2")
            #expect(r["floats"] as? [Double] == [3, 0.25, -3])
            #expect(r["doubles"] as? [Double] == [1.25, 1e300 / 2])
            #expect((r["int64s"] as? [NSNumber])?.map(\.int64Value) == [Int64(1) << 40, -14])
            #expect(r["broadcast"] as? String == "from the last rank")
        }
        #expect(records[0]?["gathered"] as? [[Int]] == [[], [11]])
        #expect(records[1]?["gathered"] is NSNull)
    }

    @Test func aProcessNotStartedByMPIRunIsOneRankAlone() throws {
        let result = try MPIRun.runProcess(MPIRun.product("collectives-probe"), [])
        #expect(result.status == 0, "\(result.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(record["summary"] as? String == "one process")
        #expect(record["floats"] as? [Double] == [1, 0, -1.5])
        #expect(record["gathered"] as? [[Int]] == [[]])
    }
}

@Suite struct ShardTests {
    @Test func contiguousShardsCoverEveryItemInOrderBalancedByCost() {
        let costs = [5, 1, 1, 1, 1, 1, 5, 5]
        let ranges = Shards.contiguous(costs: costs, parts: 2)
        #expect(ranges == [0 ..< 6, 6 ..< 8] || ranges == [0 ..< 7, 7 ..< 8])
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == costs.count)
        let sums = ranges.map { costs[$0].reduce(0, +) }
        #expect(abs(sums[0] - sums[1]) <= 5)
    }

    @Test func fewerItemsThanPartsLeavesSomePartsEmpty() {
        #expect(Shards.contiguous(costs: [3], parts: 3).map(\.count).reduce(0, +) == 1)
        #expect(Shards.contiguous(costs: [], parts: 2) == [0 ..< 0, 0 ..< 0])
    }

    @Test func onePartIsEverything() {
        #expect(Shards.contiguous(costs: [1, 2, 3], parts: 1) == [0 ..< 3])
    }

    @Test func equalCostsSplitEvenly() {
        #expect(Shards.contiguous(costs: Array(repeating: 4, count: 8), parts: 4) == [0 ..< 2, 2 ..< 4, 4 ..< 6, 6 ..< 8])
    }
}
