import Foundation

/// `report.html`: one self-contained page showing a run, rendered from the
/// folder's metrics.json read back from disk (so page and file cannot
/// disagree) and the PNG pictures it names, embedded as data URIs.
///
/// The page has no script and fetches nothing: its charts are inline SVG
/// (``SVGChart``), its style is one inline stylesheet with a print variant
/// (dark text on white, no navigation, charts and tables kept whole), and it
/// is well-formed XHTML as well as HTML, so it can be checked with an XML
/// parser. It reads only `metrics.json` and plain file names of its folder
/// (``ReportPictures``).
struct ReportPage {
    let metrics: MetricsFile
    /// The output folder, where the pictures are.
    let folder: String

    /// Reads `folder/metrics.json`, renders the page and writes
    /// `folder/report.html` atomically (a temporary file, then a rename).
    ///
    /// - Throws: when metrics.json cannot be read or decoded, a picture name
    ///   is not a plain file name, or the page cannot be written.
    static func write(in folder: String) throws {
        let metrics = try MetricsFile.read((folder as NSString).appendingPathComponent("metrics.json"))
        let page = try ReportPage(metrics: metrics, folder: folder).render()
        try writeFile(Data(page.utf8), to: (folder as NSString).appendingPathComponent("report.html"))
    }

    /// The whole document.
    func render() throws -> String {
        let sections = ReportSections(metrics: metrics)
        let body = [header(), navigation(), sections.run(), sections.plan(), sections.training(), sections.horizons(),
                    sections.scores(), try pictures(), footer()]
        return """
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>\(escaped(title))</title>
            <style>
            \(Self.stylesheet)
            </style>
            </head>
            <body>
            \(body.filter { !$0.isEmpty }.joined(separator: "\n"))
            </body>
            </html>

            """
    }

    /// `frameseq demo --quick`, `frameseq train`, ...
    private var title: String { "frameseq \(metrics.command)" + (metrics.quick == true ? " --quick" : "") }

    private func header() -> String {
        let (label, text): (String, String)
        switch metrics.status {
        case .completed: (label, text) = ("Completed", "every step of the run finished.")
        case .interrupted: (label, text) = ("Stopped by SIGINT", metrics.error ?? "interrupted")
        case .failed: (label, text) = ("Failed", metrics.error ?? "stopped by an error")
        case .refused: (label, text) = ("Refused before any frame was read", metrics.error ?? "the plan did not fit")
        }
        return """
            <header>
            <h1>\(escaped(title)) report</h1>
            <p id="status" class="status status-\(metrics.status.rawValue)"><strong>\(escaped(label)):</strong> \(escaped(text))</p>
            <p class="note">Rendered from metrics.json in this folder: every number on this page is read from that file.</p>
            </header>
            """
    }

    private func navigation() -> String {
        let links = [("run", "Run"), ("plan", "Plan"), ("training", "Training"), ("horizons", "By horizon"),
                     ("scores", "Scores"), ("pictures", "Frames")]
        return "<nav><ul>" + links.map { ##"<li><a href="#\##($0.0)">\##($0.1)</a></li>"## }.joined() + "</ul></nav>"
    }

    /// The strips of true and predicted frames, each embedded or the reason it is not.
    private func pictures() throws -> String {
        var figures: [String] = []
        for picture in metrics.pictures {
            switch try ReportPictures.embed(picture.file, in: folder) {
            case .embedded(let uri, let width, let height):
                // Small frames are drawn 2 or 3 times larger, pixels kept sharp by the stylesheet.
                let scale = max(1, min(3, 900 / max(width, 1)))
                figures.append(##"<figure id="picture-\##(escaped(picture.file))"><img src="\##(uri)" "##
                    + ##"width="\##(width * scale)" height="\##(height * scale)" alt="\##(escaped(picture.caption))"/>"##
                    + "<figcaption>\(escaped(picture.file)): \(escaped(picture.caption))</figcaption></figure>")
            case .skipped(let reason):
                figures.append(##"<p class="note">Not embedded: \##(escaped(reason)).</p>"##)
            }
        }
        if figures.isEmpty { figures.append(##"<p class="note">The run wrote no pictures.</p>"##) }
        return ##"<section id="pictures"><h2>Frames: truth against forecast</h2>"## + "\n" + figures.joined(separator: "\n")
            + "\n</section>"
    }

    private func footer() -> String {
        "<footer><p class=\"note\">Written by frameseq \(escaped(metrics.command)) with metrics.json; charts are inline "
            + "SVG drawn by the package; the page runs no script and loads nothing.</p></footer>"
    }

    /// One stylesheet for screen and print: system fonts only, dark text on white.
    static let stylesheet = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #111111;
               background: #ffffff; margin: 0 auto; max-width: 72rem; padding: 1.5rem; line-height: 1.45; }
        h1 { font-size: 1.6rem; margin: 0 0 0.5rem; }
        h2 { font-size: 1.25rem; border-bottom: 1px solid #bbbbbb; padding-bottom: 0.2rem; margin-top: 2rem; }
        h3 { font-size: 1.05rem; margin-bottom: 0.3rem; }
        table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-variant-numeric: tabular-nums; }
        th, td { border: 1px solid #bbbbbb; padding: 0.2rem 0.6rem; text-align: right; vertical-align: top; }
        th:first-child, td:first-child, td.text, th.text { text-align: left; }
        th { background: #eeeeee; }
        .status { padding: 0.5rem 0.8rem; border-left: 6px solid #009e73; background: #eef8f4; }
        .status-interrupted { border-color: #e69f00; background: #fdf5e6; }
        .status-failed, .status-refused { border-color: #d55e00; background: #fbeee8; }
        .note { color: #333333; }
        .scroll { overflow-x: auto; }
        svg.chart { max-width: 100%; height: auto; display: block; }
        figure { margin: 1rem 0 1.5rem; }
        figure img { max-width: 100%; height: auto; image-rendering: pixelated; border: 1px solid #bbbbbb; }
        figcaption { font-size: 0.9rem; color: #333333; }
        nav ul { list-style: none; padding: 0; margin: 0.5rem 0; display: flex; flex-wrap: wrap; gap: 1rem; }
        @page { margin: 1.5cm; }
        @media print {
          body { max-width: none; padding: 0; font-size: 10pt; color: #000000; background: #ffffff; }
          nav { display: none; }
          a { color: #000000; text-decoration: none; }
          figure, svg.chart, table, tr { break-inside: avoid; page-break-inside: avoid; }
          h2, h3 { break-after: avoid; page-break-after: avoid; }
          .scroll { overflow: visible; }
          * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
        }
        """
}

/// Writes `metrics` as `folder/metrics.json`, then `folder/report.html`
/// rendered from that file as read back: what every run does last, whether
/// it completed, failed, was refused or interrupted.
func writeRecord(_ metrics: MetricsFile, to folder: String) throws {
    try writeFile(try metrics.encoded(), to: (folder as NSString).appendingPathComponent("metrics.json"))
    try ReportPage.write(in: folder)
}

// MARK: - Pictures

/// The pictures a report embeds: PNG files in the run's output folder, read
/// by a plain file name only, so a report never reads outside its folder
/// whatever metrics.json names.
enum ReportPictures {
    /// Pictures larger than this are named, not embedded: a page of tens of
    /// megabytes would not open comfortably (a strip of ten 785 x 785 RGB
    /// frames can be this large; it stays beside the report).
    static let maximumBytes = 16 << 20

    /// What happened to one picture.
    enum Outcome: Equatable {
        /// The picture as a `data:image/png;base64,...` URI, and its size in pixels.
        case embedded(String, width: Int, height: Int)
        /// Not embedded, and why (missing, too large, not a PNG).
        case skipped(String)
    }

    /// Whether `name` is a plain file name: 1 to 255 of the characters
    /// `A-Z a-z 0-9 . _ -`, not starting with a dot (so never `.`, `..` or a
    /// hidden file), hence no `/`, no `\`, nothing a path could climb with.
    static func isPlainFileName(_ name: String) -> Bool {
        guard (1 ... 255).contains(name.utf8.count), !name.hasPrefix(".") else { return false }
        return name.utf8.allSatisfy { byte in
            (0x30 ... 0x39).contains(byte) || (0x41 ... 0x5A).contains(byte) || (0x61 ... 0x7A).contains(byte)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }

    /// Picture `name` of `folder` as a data URI, or why it was not embedded.
    ///
    /// Only a regular file is read (a symbolic link is not followed: it could
    /// point anywhere), and only when it begins with the PNG signature.
    ///
    /// - Throws: when `name` is not a plain file name (``isPlainFileName(_:)``):
    ///   a report asked for `../x.png` or `/etc/passwd` is refused, not written.
    static func embed(_ name: String, in folder: String) throws -> Outcome {
        guard isPlainFileName(name) else {
            throw CLIError.failed("report: '\(name)' is not a plain file name in \(folder) (letters, digits, '.', '_' "
                + "and '-', not starting with '.'); a report embeds nothing from outside its folder")
        }
        let path = (folder as NSString).appendingPathComponent(name)
        // attributesOfItem describes the entry itself (lstat), not what a link points to.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return .skipped("\(name) is not in the folder")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            return .skipped("\(name) is not a regular file (a link or a folder is not followed)")
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maximumBytes else {
            return .skipped("\(name) is \(gibibytes(size)), more than the \(gibibytes(maximumBytes)) a page embeds; "
                + "open it beside this report")
        }
        guard let data = FileManager.default.contents(atPath: path) else { return .skipped("\(name) cannot be read") }
        guard data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            return .skipped("\(name) is not a PNG file")
        }
        // The IHDR chunk follows the signature: its width and height are big-endian at bytes 16 and 20.
        guard data.count >= 24 else { return .skipped("\(name) is too short to be a PNG file") }
        let bytes = [UInt8](data.prefix(24))
        func number(_ at: Int) -> Int { bytes[at ..< at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return .embedded("data:image/png;base64," + data.base64EncodedString(), width: number(16), height: number(20))
    }
}
