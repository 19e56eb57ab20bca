import Foundation

/// A self-contained SVG with two panels sharing the step axis: training loss above, the dev metric (F1, or
/// accuracy for tags without entities) below.
public struct TrainingPlot: Sendable {
    public var title: String
    public var loss: [(step: Int, value: Double)]
    public var devF1: [(step: Int, value: Double)]
    /// What `devF1` holds, as the plot names it.
    public var devMetric: String

    public init(title: String, loss: [(step: Int, value: Double)], devF1: [(step: Int, value: Double)],
                devMetric: String = "F1") {
        self.title = title
        self.loss = loss
        self.devF1 = devF1
        self.devMetric = devMetric
    }

    public func svg(width: Double = 760, panelHeight: Double = 240) -> String {
        let left = 70.0, right = 20.0, top = 40.0, gap = 50.0, bottom = 45.0
        let height = top + panelHeight * 2 + gap + bottom
        let plotWidth = width - left - right
        let maxStep = max(1, (loss.map(\.step) + devF1.map(\.step)).max() ?? 1)
        func x(_ step: Int) -> Double { left + plotWidth * Double(step) / Double(maxStep) }

        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(fmt(width / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        func panel(_ points: [(step: Int, value: Double)], y0: Double, label: String, color: String,
                   fixedRange: ClosedRange<Double>?, markers: Bool) {
            let values = points.map(\.value).filter(\.isFinite)
            var low = fixedRange?.lowerBound ?? (values.min() ?? 0)
            var high = fixedRange?.upperBound ?? (values.max() ?? 1)
            if fixedRange == nil { low = min(0, low) }
            if high <= low { high = low + 1 }
            func y(_ v: Double) -> Double { y0 + panelHeight * (1 - (v - low) / (high - low)) }
            out += "<rect x=\"\(fmt(left))\" y=\"\(fmt(y0))\" width=\"\(fmt(plotWidth))\" height=\"\(fmt(panelHeight))\" fill=\"none\" stroke=\"#888\"/>\n"
            for i in 0...4 {
                let v = low + (high - low) * Double(i) / 4
                out += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(left + plotWidth))\" y1=\"\(fmt(y(v)))\" y2=\"\(fmt(y(v)))\" stroke=\"#eee\"/>"
                out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y(v) + 4))\" text-anchor=\"end\">\(tick(v))</text>\n"
            }
            out += "<text x=\"16\" y=\"\(fmt(y0 + panelHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(fmt(y0 + panelHeight / 2)))\">\(escape(label))</text>\n"
            let finite = points.filter { $0.value.isFinite }
            if !finite.isEmpty {
                let path = finite.map { "\(fmt(x($0.step))),\(fmt(y($0.value)))" }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
            }
            if markers {
                for p in finite {
                    out += "<circle cx=\"\(fmt(x(p.step)))\" cy=\"\(fmt(y(p.value)))\" r=\"3.5\" fill=\"\(color)\"><title>step \(p.step): \(String(format: "%.4f", p.value))</title></circle>\n"
                }
            }
        }
        panel(loss, y0: top, label: "training loss", color: "#1f77b4", fixedRange: nil, markers: false)
        let f1Values = devF1.map(\.value).filter(\.isFinite)
        let f1Low = max(0, ((f1Values.min() ?? 0) * 10).rounded(.down) / 10)
        panel(devF1, y0: top + panelHeight + gap, label: "dev \(devMetric)", color: "#d62728",
              fixedRange: f1Low...1, markers: true)
        let axisY = top + panelHeight * 2 + gap
        for i in 0...5 {
            let step = Int((Double(maxStep) * Double(i) / 5).rounded())
            out += "<text x=\"\(fmt(x(step)))\" y=\"\(fmt(axisY + 16))\" text-anchor=\"middle\">\(step)</text>\n"
        }
        out += "<text x=\"\(fmt(left + plotWidth / 2))\" y=\"\(fmt(axisY + 36))\" text-anchor=\"middle\">optimizer step</text>\n"
        if let best = devF1.filter({ $0.value.isFinite }).max(by: { $0.value < $1.value }) {
            out += "<text x=\"\(fmt(left + plotWidth - 4))\" y=\"\(fmt(top + panelHeight + gap + 16))\" text-anchor=\"end\">best dev \(escape(devMetric)) \(String(format: "%.4f", best.value)) at step \(best.step)</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
    private func tick(_ v: Double) -> String { abs(v) >= 100 ? String(format: "%.0f", v) : String(format: "%.3g", v) }
    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
