/// Rows of a [rows, width] matrix that something has written, as a mark per row and a list in the order of their
/// first mark. The word embedding's gradient is such a matrix: a batch of a few hundred tokens touches a few hundred
/// of its 30,522 rows, and the rest stay zero.
public final class TouchedRows: @unchecked Sendable {
    public let rows: Int
    private var marks: [Bool]
    /// The marked rows, each once, in the order they were first marked.
    public private(set) var list: [Int] = []

    public init(rows: Int) {
        self.rows = rows
        marks = [Bool](repeating: false, count: rows)
    }

    public func insert(_ row: Int) {
        precondition(row >= 0 && row < rows, "row \(row) of a matrix of \(rows) rows")
        if !marks[row] {
            marks[row] = true
            list.append(row)
        }
    }

    public func contains(_ row: Int) -> Bool { marks[row] }

    public func removeAll() {
        for row in list { marks[row] = false }
        list.removeAll(keepingCapacity: true)
    }
}

/// Where a gradient slab holds a [rows, width] matrix of which only `touched` rows may be non-zero: the rest are
/// known to be exactly zero, so a norm can skip them and an update can treat them as zero without reading them.
public struct SparseGradientRows: Sendable {
    /// The slab offset of row 0.
    public let start: Int
    public let width: Int
    public let touched: TouchedRows

    public init(start: Int, width: Int, touched: TouchedRows) {
        self.start = start
        self.width = width
        self.touched = touched
    }

    public var rows: Int { touched.rows }
    /// The slab range of the whole matrix.
    public var range: Range<Int> { start ..< start + touched.rows * width }
}
