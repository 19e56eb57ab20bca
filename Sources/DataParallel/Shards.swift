/// Splitting work between ranks: contiguous pieces, balanced by cost, the same on every rank.
public enum Shards {
    /// `costs.count` items in `parts` contiguous ranges, in order, whose summed costs are as even as a
    /// contiguous split allows: range r ends where the running total first reaches r+1 parts of the whole.
    /// Ranges may be empty (fewer items than parts).
    public static func contiguous(costs: [Int], parts: Int) -> [Range<Int>] {
        precondition(parts >= 1, "at least one part")
        let total = costs.reduce(0, +)
        var ranges: [Range<Int>] = []
        var start = 0, running = 0, index = 0
        for part in 0 ..< parts {
            if part == parts - 1 {
                ranges.append(start ..< costs.count)
                break
            }
            // The boundary in integer arithmetic, so that every rank computes the same one.
            let target = total * (part + 1)
            while index < costs.count && running * parts < target {
                let next = running + costs[index]
                // Stop before an item whose addition lands farther past the boundary than we are short of it.
                if next * parts - target > target - running * parts && index > start { break }
                running = next
                index += 1
            }
            ranges.append(start ..< index)
            start = index
        }
        return ranges
    }
}
