import Foundation
import XCTest
@testable import FrameseqCLI
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A report page parsed as XML: what the checks below look at.
final class ParsedReport: NSObject, XMLParserDelegate {
    /// Every element name, in document order.
    private(set) var elements: [String] = []
    /// `id` attributes of `<svg>` elements.
    private(set) var chartIDs: [String] = []
    /// `src` of every `<img>`.
    private(set) var imageSources: [String] = []
    /// Every attribute, as (element, name, value).
    private(set) var attributes: [(element: String, name: String, value: String)] = []
    /// Cells by table id, row `data-key` and cell `data-metric`: their text.
    private(set) var cells: [String: [String: [String: String]]] = [:]
    /// All character data, joined.
    private(set) var text = ""

    private var table: String?, row: String?, metric: String?, cellText = ""

    /// Parses `data`, failing the test with the parser's error and position.
    static func parse(_ data: Data, file: StaticString = #filePath, line: UInt = #line) throws -> ParsedReport {
        let report = ParsedReport()
        let parser = XMLParser(data: data)
        parser.delegate = report
        let parsed = parser.parse()
        XCTAssert(parsed, "report.html is not well-formed XHTML: \(String(describing: parser.parserError)) at line "
                  + "\(parser.lineNumber), column \(parser.columnNumber)", file: file, line: line)
        return report
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(name)
        for (key, value) in attributes { self.attributes.append((name, key, value)) }
        switch name {
        case "svg": if let id = attributes["id"] { chartIDs.append(id) }
        case "img": imageSources.append(attributes["src"] ?? "")
        case "table": table = attributes["id"]
        case "tr": row = attributes["data-key"]
        case "td": (metric, cellText) = (attributes["data-metric"], "")
        default: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "td":
            if let table, let row, let metric { cells[table, default: [:]][row, default: [:]][metric] = cellText }
            metric = nil
        case "tr": row = nil
        case "table": table = nil
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
        if metric != nil { cellText += string }
    }
}

/// Checks a report page against the metrics.json it was rendered from: it
/// parses as XHTML, runs no script and loads nothing, names every model and
/// baseline, has `charts` (by id), shows every number of the metrics and
/// per-horizon tables as the file holds it (to the digits shown), and embeds
/// each picture the file names as a data URI of that file's bytes.
func checkReport(in folder: String, charts: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ParsedReport {
    let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/report.html"))
    let metrics = try MetricsFile.read(folder + "/metrics.json")
    let page = try ParsedReport.parse(data, file: file, line: line)
    let html = String(decoding: data, as: UTF8.self)

    // Self-contained: no script, no handler, nothing fetched.
    XCTAssertFalse(page.elements.contains { ["script", "link", "iframe", "object", "embed"].contains($0.lowercased()) },
                   "no script or external resource element", file: file, line: line)
    XCTAssertFalse(html.lowercased().contains("<script"), file: file, line: line)
    XCTAssertFalse(html.lowercased().contains("javascript:"), file: file, line: line)
    XCTAssertFalse(html.contains("@import") || html.contains("url(http"), "the stylesheet loads nothing", file: file, line: line)
    for attribute in page.attributes {
        XCTAssertFalse(attribute.name.lowercased().hasPrefix("on"), "event handler \(attribute.name)", file: file, line: line)
        if ["src", "href"].contains(attribute.name) {
            XCTAssert(attribute.value.hasPrefix("data:") || attribute.value.hasPrefix("#"),
                      "\(attribute.element) \(attribute.name)=\(attribute.value.prefix(60)) points outside the page", file: file, line: line)
        }
    }
    XCTAssert(html.contains("@media print"), "a print stylesheet", file: file, line: line)

    for id in charts { XCTAssert(page.chartIDs.contains(id), "chart \(id) in \(page.chartIDs)", file: file, line: line) }
    for (key, entry) in metrics.models.merging(metrics.baselines, uniquingKeysWith: { a, _ in a }) {
        XCTAssert(page.text.contains(entry.title), "\(key)'s title \(entry.title)", file: file, line: line)
    }

    // Every number of the metrics table, read back from the page.
    let table = page.cells["metrics-table"] ?? [:]
    for (key, entry) in metrics.models.merging(metrics.baselines, uniquingKeysWith: { a, _ in a }) where entry.mse != nil || entry.closedLoop != nil {
        let row = try XCTUnwrap(table[key], "\(key) has a row in the metrics table", file: file, line: line)
        let expected: [String: (Double?, Double)] = [
            "mse": (entry.mse, 6e-4), "psnr": (entry.psnr, 0.006), "ssim": (entry.ssim, 6e-5),
            "closed_loop.mse": (entry.closedLoop?.mse, 6e-4), "closed_loop.psnr": (entry.closedLoop?.psnr, 0.006),
            "closed_loop.ssim": (entry.closedLoop?.ssim, 6e-5), "parameters": (entry.parameters.map(Double.init), 0),
        ]
        for (metric, (value, tolerance)) in expected {
            assertCell(row[metric], equals: value, tolerance: tolerance, relative: metric.hasSuffix("mse"),
                       "\(key) \(metric)", file: file, line: line)
        }
        for (step, value) in (entry.closedLoop?.mseByStep ?? []).enumerated() {
            assertCell(page.cells["horizon-table"]?[key]?["closed_loop.mse_by_step.\(step)"], equals: value, tolerance: 6e-4,
                       relative: true, "\(key) MSE at step \(step + 1)", file: file, line: line)
        }
        for (step, value) in (entry.closedLoop?.ssimByStep ?? []).enumerated() {
            assertCell(page.cells["horizon-table"]?[key]?["closed_loop.ssim_by_step.\(step)"], equals: value, tolerance: 6e-5,
                       relative: false, "\(key) SSIM at step \(step + 1)", file: file, line: line)
        }
    }

    // Pictures: data URIs holding the folder's files.
    XCTAssertEqual(page.imageSources.count, metrics.pictures.count, file: file, line: line)
    for (source, picture) in zip(page.imageSources, metrics.pictures) {
        XCTAssert(source.hasPrefix("data:image/png;base64,"), "\(picture.file) is a data URI", file: file, line: line)
        let bytes = Data(base64Encoded: String(source.dropFirst("data:image/png;base64,".count)))
        XCTAssertEqual(bytes, try Data(contentsOf: URL(fileURLWithPath: folder + "/" + picture.file)),
                       "\(picture.file) embedded as it is", file: file, line: line)
    }
    return page
}

/// A table cell's text read back as a number (`inf`, thin-space groups), or
/// an en dash where the file has no value.
private func assertCell(_ text: String?, equals value: Double?, tolerance: Double, relative: Bool, _ name: String,
                        file: StaticString, line: UInt) {
    guard let text else { return XCTFail("\(name): no cell", file: file, line: line) }
    guard let value else { return XCTAssertEqual(text, "\u{2013}", "\(name): no value in the file", file: file, line: line) }
    let plain = text.replacingOccurrences(of: "\u{202F}", with: "")
    let shown = plain == "inf" ? 999 : Double(plain)
    guard let shown else { return XCTFail("\(name): '\(text)' is not a number", file: file, line: line) }
    let allowed = relative ? tolerance * abs(value) + 1e-12 : tolerance
    XCTAssert(abs(shown - value) <= allowed, "\(name): page shows \(text), metrics.json holds \(value)", file: file, line: line)
}
