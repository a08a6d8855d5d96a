import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftObjectStorage

/// Swift's staticweb middleware: a container with `X-Container-Meta-Web-Index` or
/// `-Web-Listings` answers anonymous GETs and HEADs (and a token's, with `X-Web-Mode: true`)
/// as a web site: the index object of a directory, an HTML listing where there is none, and
/// `<status><Web-Error>` as the page of an error. Access is unchanged: every object and
/// listing read is authorized as the request's own (`.r:*` to read, `.rlistings` to list).
extension ObjectStorageController {
    /// A container's web settings, from its `web-*` metadata.
    struct Website {
        var index: String?
        var listings: Bool
        var error: String?
        var css: String?
        var label: String?

        init(_ metadata: Metadata) {
            func value(_ key: String) -> String? {
                metadata[key].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
            }
            index = value("web-index")
            listings = ObjectStorageController.isTrue(value("web-listings"))
            error = value("web-error")
            css = value("web-listings-css")
            label = value("web-listings-label")
        }

        /// Whether the container serves as a site at all (listings set, even to false, count).
        var enabled: Bool { index != nil || listings }
    }

    /// The answer of the web view to a GET or HEAD, or nil when the request is not one for it
    /// (a token without `X-Web-Mode`, a TempURL, a container that is no site).
    func staticWeb(_ request: Request, _ target: Target, caller: ObjectStorageService.Caller) async throws -> Response? {
        guard request.method == .get || request.method == .head, let container = target.container else { return nil }
        let webMode = Self.isTrue(request.headers[.webMode])
        switch caller {
        case .anonymous: break
        case .user: if !webMode { return nil }
        case .signed: return nil
        }
        let slash = request.uri.path.hasSuffix("/")
        let project = target.project
        guard let object = target.object else {
            // The listing permission the container answer needs; its metadata holds the settings.
            let site = Website(try await storage.container(project, container, caller: caller).metadata)
            guard site.enabled else {
                if webMode { throw UpdraftError.notFound("The resource could not be found.") }
                return nil
            }
            if !slash { return Self.redirectWithSlash(request) }
            if let index = site.index, let page = try await page(request, project, container, index, caller: caller) {
                return page
            }
            return try await listing(request, target, site, prefix: "", caller: caller)
        }
        do {
            let response = try await read(request, project, container, object, caller: caller)
            // A directory marker (`application/directory`, at most a byte) stands for its directory.
            let marker =
                response.headers[.contentType] == "application/directory"
                && (response.headers[.contentLength].flatMap(Int.init) ?? 0) <= 1
            if !marker { return response }
        } catch let error as UpdraftError where error.code == .notFound {
        }
        let site = Website(try await storage.websiteSettings(project, container))
        guard site.enabled else { throw UpdraftError.notFound("The resource could not be found.") }
        if let index = site.index {
            let directory = object.hasSuffix("/") ? object : object + "/"
            if let page = try await page(request, project, container, directory + index, caller: caller) {
                return slash ? page : Self.redirectWithSlash(request)
            }
        }
        if !slash {
            let (_, entries) = try await storage.listObjects(
                project, container, ListingQuery(prefix: object + "/", delimiter: "/", limit: 1), caller: caller)
            if entries.isEmpty { return try await errorPage(request, project, container, site, status: 404, caller: caller) }
            return Self.redirectWithSlash(request)
        }
        return try await listing(request, target, site, prefix: object, caller: caller)
    }

    /// The object as a GET returns it; nil when it does not exist.
    func page(
        _ request: Request, _ project: String, _ container: String, _ name: String, caller: ObjectStorageService.Caller
    ) async throws -> Response? {
        do {
            return try await read(request, project, container, name, caller: caller)
        } catch let error as UpdraftError where error.code == .notFound {
            return nil
        }
    }

    /// `301` to the same path with a slash, as a browser needs for relative links.
    static func redirectWithSlash(_ request: Request) -> Response {
        empty(.movedPermanently, [.location: request.uri.path + "/"])
    }

    /// The answer for an error: the container's `<status><Web-Error>` object with that status
    /// when it has one, Swift's plain page otherwise.
    func errorPage(
        _ request: Request, _ project: String, _ container: String, _ site: Website, status: Int,
        caller: ObjectStorageService.Caller, body: String? = nil
    ) async throws -> Response {
        if let error = site.error, var page = try await page(request, project, container, "\(status)\(error)", caller: caller) {
            page.status = .init(code: status)
            return page
        }
        guard let body else { throw UpdraftError(.notFound, "The resource could not be found.") }
        return Response(
            status: .init(code: status), headers: [.contentType: "text/html; charset=UTF-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// An HTML listing of the directory `prefix` (Swift's page: subdirectories, then objects
    /// with their size and date), or the "Web Listing Disabled" page when listings are off.
    func listing(
        _ request: Request, _ target: Target, _ site: Website, prefix: String, caller: ObjectStorageService.Caller
    ) async throws -> Response {
        let container = target.container ?? ""
        let path = target.swiftPath.hasSuffix("/") ? target.swiftPath : target.swiftPath + "/"
        let label = Markup.escape(site.label.map { "\($0)/\(prefix)" } ?? path)
        let style =
            site.css.map {
                "  <link rel=\"stylesheet\" type=\"text/css\" href=\"\(Markup.escape(Self.cssPath($0, prefix: prefix)))\" />\n"
            }
            ?? "  <style type=\"text/css\">\n   h1 {font-size: 1em; font-weight: bold;}\n"
            + "   th {text-align: left; padding: 0px 1em 0px 1em;}\n   td {padding: 0px 1em 0px 1em;}\n"
            + "   a {text-decoration: none;}\n  </style>\n"
        guard site.listings else {
            var body = "<!DOCTYPE html>\n<html>\n<head>\n<title>Listing of \(label)</title>\n\(style)</head>\n<body>"
            body += "  <h1>Web Listing Disabled</h1>   <p>The owner of this web site has disabled web listing."
            body += "   <p>If you are the owner of this web site, you can enable   web listing by setting"
            body += " X-Container-Meta-Web-Listings.</p>"
            if let index = site.index {
                body += "<h1>Index File Not Found</h1> <p>The owner of this web site has set  <b>X-Container-Meta-Web-Index: "
                body += "\(Markup.escape(index))</b>.  However, this file is not found.</p>"
            }
            body += " </body>\n</html>\n"
            return try await errorPage(request, target.project, container, site, status: 404, caller: caller, body: body)
        }
        let (_, entries) = try await storage.listObjects(
            target.project, container, ListingQuery(prefix: prefix.isEmpty ? nil : prefix, delimiter: "/"), caller: caller)
        if !prefix.isEmpty, entries.isEmpty {
            return try await errorPage(request, target.project, container, site, status: 404, caller: caller)
        }
        var body = "<!DOCTYPE html>\n<html>\n <head>\n  <title>Listing of \(label)</title>\n\(style) </head>\n <body>\n"
        body += "  <h1 id=\"title\">Listing of \(label)</h1>\n  <table id=\"listing\">\n   <tr id=\"heading\">\n"
        body += "    <th class=\"colname\">Name</th>\n    <th class=\"colsize\">Size</th>\n"
        body += "    <th class=\"coldate\">Date</th>\n   </tr>\n"
        if !prefix.isEmpty {
            body += "   <tr id=\"parent\" class=\"item\">\n    <td class=\"colname\"><a href=\"../\">../</a></td>\n"
            body += "    <td class=\"colsize\">&nbsp;</td>\n    <td class=\"coldate\">&nbsp;</td>\n   </tr>\n"
        }
        for case .subdirectory(let name) in entries {
            let relative = String(name.dropFirst(prefix.count))
            body += "   <tr class=\"item subdir\">\n    <td class=\"colname\"><a href=\"./\(Self.webQuote(relative))\">"
            body += "\(Markup.escape(relative))</a></td>\n    <td class=\"colsize\">&nbsp;</td>\n"
            body += "    <td class=\"coldate\">&nbsp;</td>\n   </tr>\n"
        }
        for case .object(let name, let size, _, let contentType, let modified) in entries {
            let relative = String(name.dropFirst(prefix.count))
            let types = contentType.split(separator: "/").map { "type-" + Markup.escape($0.lowercased()) }
            let date = ObjectStorageService.listingDate(modified).split(separator: ".")[0].replacingOccurrences(
                of: "T", with: " ")
            body += "   <tr class=\"item \(types.joined(separator: " "))\">\n"
            body += "    <td class=\"colname\"><a href=\"./\(Self.webQuote(relative))\">\(Markup.escape(relative))</a></td>\n"
            body += "    <td class=\"colsize\">\(Self.humanReadable(size))</td>\n"
            body += "    <td class=\"coldate\">\(Markup.escape(date))</td>\n   </tr>\n"
        }
        body += "  </table>\n </body>\n</html>\n"
        let headers: HTTPFields = [.contentType: "text/html; charset=UTF-8"]
        if request.method == .head { return Self.empty(.ok, headers, length: Int64(body.utf8.count)) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A listing's stylesheet link: as set when absolute, else relative to the container.
    static func cssPath(_ css: String, prefix: String) -> String {
        if css.hasPrefix("/") || css.hasPrefix("http://") || css.hasPrefix("https://") { return css }
        return String(repeating: "../", count: prefix.filter { $0 == "/" }.count) + webQuote(css, dots: true)
    }

    /// A name as a relative link, percent-encoded as Python's `quote`; a listed name's dots
    /// too (so `..` never climbs), as Swift writes them.
    static func webQuote(_ name: String, dots: Bool = false) -> String {
        let allowed = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~/" + (dots ? "." : ""))
        return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name
    }

    /// Swift's `human_readable`: `512`, `3Ki`, `12Mi`.
    static func humanReadable(_ size: Int64) -> String {
        var value = Double(size)
        var index = -1
        let suffixes = Array("KMGTPEZY")
        while value >= 1024, index + 1 < suffixes.count {
            index += 1
            value = (value / 1024).rounded()
        }
        return index < 0 ? String(Int64(value)) : "\(Int64(value.rounded()))\(suffixes[index])i"
    }
}
