import HTTPTypes
import Foundation
import Hummingbird
import Mustache

/// Server-rendered pages (sign-in, portal, dashboard): swift-mustache templates, every value
/// written with `{{…}}` (HTML-escaped; no template here uses the unescaped form), and
/// headers that keep a page from running anything it did not ship: a Content-Security-Policy
/// without inline scripts or styles, `nosniff`, and no framing.
enum BrowserPages {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        let templates: [(String, String)] = [
            ("head", head), ("foot", foot), ("login", PortalTemplates.login), ("portal", PortalTemplates.home),
            ("portal-new", PortalTemplates.newTicket), ("portal-ticket", PortalTemplates.ticket), ("dashboard", Dashboard.page),
            ("message", PortalTemplates.message),
        ]
        for (name, text) in templates {
            // The templates are constants of this file's module; one that does not parse is a
            // programming error caught by the first test that renders a page.
            do { try library.register(text, named: name) } catch { preconditionFailure("template \(name): \(error)") }
        }
        return library
    }()

    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// A page rendered from `template` with `values`.
    static func render(_ template: String, _ values: Any, status: HTTPResponse.Status = .ok) -> Response {
        guard let html = library.render(values, withTemplate: template) else { preconditionFailure("no template \(template)") }
        return response(html, type: "text/html; charset=utf-8", status: status)
    }

    static func response(_ body: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [
            .contentType: type,
            .contentSecurityPolicy: contentSecurityPolicy,
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
            .cacheControl: "no-store",
        ], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A redirect after a form (303: the browser follows with GET).
    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    static let head = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}}</title><link rel="stylesheet" href="/assets/site.css"></head><body>
    {{#signedIn}}<form class="signout" method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}"><span class="muted">{{name}}</span> <button type="submit">Sign out</button></form>{{/signedIn}}
    """

    static let foot = "</body></html>\n"

    static let css = """
    body{font:15px system-ui,sans-serif;margin:24px auto;max-width:960px;padding:0 16px;color:#222}
    h1{font-size:22px} h2{font-size:17px;margin-top:24px}
    table{border-collapse:collapse;min-width:480px;max-width:100%} td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
    .bad{color:#b00020;font-weight:600} .muted{color:#777} .error{color:#b00020}
    .signout{float:right} form.stack label{display:block;margin:10px 0 4px}
    input[type=text],input[type=email],input[type=password],textarea,select{width:100%;max-width:560px;box-sizing:border-box;font:inherit;padding:6px}
    textarea{min-height:120px} button{font:inherit;padding:6px 14px;margin-top:10px}
    .comment{border-left:3px solid #ccc;padding:4px 12px;margin:12px 0} .comment.support{border-color:#3a6ea5}
    .body{white-space:pre-wrap;overflow-wrap:anywhere} .inline{display:inline-block;margin-right:12px}
    """
}

extension HTTPField.Name {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
}
