/// Text placed in HTML or XML answers (Swift's fault pages and listings, S3's documents).
enum Markup {
    /// `&`, `<`, `>` and `"` as entities.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
