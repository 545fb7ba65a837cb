#!/usr/bin/env python3
"""Drives the requester portal and the dashboard of a running node in headless Chromium.

Run by Tests/EndToEndTests/BrowserEndToEndTests.swift, which starts the node; usage:
    portal_check.py URL ADMIN_TOKEN
It makes its own users and tickets through the API, then checks, in a real browser:
sign-in, opening a ticket, the public thread (no private comment on the page), replying,
rating, CSRF (a form without its token is refused and changes nothing), and that none of
the XSS payloads below executes or breaks a page that shows it. Exits non-zero on the
first failure, with a line that says what failed. Bounded: every wait has a timeout.
"""
import json
import sys
import urllib.error
import urllib.request

from playwright.sync_api import sync_playwright

URL, ADMIN = sys.argv[1], sys.argv[2]
PASSWORD = "correct horse battery"

# Each payload, if it ever ran, would set window.__xss (or open a dialog, or retitle the page).
PAYLOADS = [
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=2\">",
    "<svg onload=\"window.__xss=3\"></svg>",
    "\"><script>window.__xss=4</script>",
    "'><img src=x onerror=window.__xss=5>",
    "javascript:window.__xss=6",
    "<a href=\"javascript:window.__xss=7\">click</a>",
    "<iframe src=\"javascript:window.__xss=8\"></iframe>",
    "<body onload=window.__xss=9>",
    "<details open ontoggle=window.__xss=10>",
    "{{window.__xss=11}}",
    "{{{title}}}",
    "{% raw %}{{7*7}}{% endraw %}",
    "${window.__xss=12}",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=13>",
    "<scr<script>ipt>window.__xss=14</scr</script>ipt>",
    "\\u003cscript\\u003ewindow.__xss=15\\u003c/script\\u003e",
    "&lt;script&gt;window.__xss=16&lt;/script&gt;",
    "<style>body{display:none}</style>",
    "</td></tr></table><h1>BROKEN</h1>",
    "<!-- unclosed comment",
    "<![CDATA[<script>window.__xss=17</script>]]>",
    "<input autofocus onfocus=window.__xss=18>",
    "<video><source onerror=\"window.__xss=19\"></video>",
    "<audio src=x onerror=window.__xss=20>",
    "<object data=\"javascript:window.__xss=21\"></object>",
    "<embed src=\"javascript:window.__xss=22\">",
    "<form action=\"javascript:window.__xss=23\"><button>go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=24\">",
    "<base href=\"javascript:window.__xss=25//\">",
    "<link rel=stylesheet href=\"javascript:window.__xss=26\">",
    "<marquee onstart=window.__xss=27>",
    "<select autofocus onfocus=window.__xss=28>",
    "<textarea autofocus onfocus=window.__xss=29>",
    "<keygen autofocus onfocus=window.__xss=30>",
    "<div style=\"background:url(javascript:window.__xss=31)\">",
    "<img src=\"x\" onerror=\"&#119;indow.__xss=32\">",
    "<img src=x onerror=eval(atob('d2luZG93Ll9feHNzPTMz'))>",
    "<svg><script>window.__xss=34</script></svg>",
    "<svg><animate onbegin=window.__xss=35 attributeName=x dur=1s>",
    "<isindex type=image src=1 onerror=window.__xss=36>",
    "<table background=\"javascript:window.__xss=37\">",
    "\u202e<script>window.__xss=38</script>",
    "\u0000<script>window.__xss=39</script>",
    "＜script＞window.__xss=40＜/script＞",
    "<ScRiPt>window.__xss=41</sCrIpT>",
    "<script src=data:text/javascript,window.__xss=42></script>",
    "<img src=`x`onerror=window.__xss=43>",
    "<a href=\"&#106;avascript:window.__xss=44\">x</a>",
    "<x onclick=window.__xss=45>click me</x>",
    "\"onmouseover=\"window.__xss=46",
    "' onmouseover='window.__xss=47",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=48>\">",
    "<template><script>window.__xss=49</script></template>",
    "<plaintext>",
    "<title>XSS</title>",
    "<svg><foreignObject><iframe srcdoc=\"<script>parent.__xss=50</script>\">",
]


def api(method, path, body=None, token=ADMIN):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def check(ok, what):
    if not ok:
        print("FAIL: " + what, flush=True)
        sys.exit(1)


def expect_status(result, status, what):
    check(result[0] == status, f"{what}: HTTP {result[0]} {result[1]}")
    return result[1]


def as_text(value):
    """A value as innerText reads it back: white space folded, no NUL (the browser drops it)."""
    return " ".join(value.replace("\u0000", "").replace("\ufffd", "").split())


def clean(page, what):
    """No payload ran and the page's structure is what we built."""
    state = page.evaluate("() => ({xss: window.__xss, title: document.title, h1: document.querySelectorAll('h1').length,"
                          " iframes: document.querySelectorAll('iframe, object, embed, svg, img, video, audio').length})")
    check(state["xss"] is None, f"{what}: payload {state['xss']} ran")
    check(state["title"] != "XSS", f"{what}: the title was replaced")
    check(state["h1"] == 1, f"{what}: {state['h1']} h1 elements (markup was injected)")
    check(state["iframes"] == 0, f"{what}: injected elements rendered")


def sign_in(page, email):
    page.goto(URL + "/login", timeout=15000)
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_load_state("load", timeout=15000)


def main():
    rita_name = "Rita <img src=x onerror=window.__xss=99>"
    expect_status(api("POST", "/api/v1/users", {"name": rita_name, "email": "rita@example.com", "role": "requester", "password": PASSWORD}), 201, "make the requester")
    expect_status(api("POST", "/api/v1/users", {"name": "Sue", "email": "sue@example.com", "role": "supervisor", "password": PASSWORD}), 201, "make the supervisor")
    for i, payload in enumerate(PAYLOADS[:20]):
        expect_status(api("PUT", f"/api/v1/agents/a{i}", {"name": payload, "line": "L1", "presence": "online"}), 201, "register an agent")

    dialogs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(15000)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

            # Sign in and open a ticket through the form.
            sign_in(page, "rita@example.com")
            check(page.url.endswith("/portal"), f"after sign-in the requester is at {page.url}")
            clean(page, "portal home")
            page.click("text=Open a ticket")
            page.fill("#subject", "Printer on fire")
            page.fill("#description", "Third floor\nnear the window")
            page.select_option("#priority", "high")
            page.click("#open")
            page.wait_for_load_state("load")
            ticket_id = page.url.rsplit("/", 1)[1]
            check(page.inner_text("#subject") == f"#{ticket_id} Printer on fire", "the new ticket's page shows its subject")
            ticket = expect_status(api("GET", f"/api/v1/tickets/{ticket_id}"), 200, "read the ticket")
            check(ticket["priority"] == "high" and ticket["requester"]["email"] == "rita@example.com", "the form made the ticket")

            # An agent's private note and public reply: the page shows the reply only.
            expect_status(api("POST", f"/api/v1/tickets/{ticket_id}/comments", {"body": "PRIVATE-CANARY-4711", "public": False}), 201, "private note")
            expect_status(api("POST", f"/api/v1/tickets/{ticket_id}/comments", {"body": "We are on our way", "public": True, "author_name": "Bob"}), 201, "public reply")
            page.reload()
            check("We are on our way" in page.content(), "the public reply is on the page")
            check("PRIVATE-CANARY-4711" not in page.content(), "the private note is not on the page")

            # Reply through the form.
            page.fill("#reply", "Thank you!")
            page.click("#send-reply")
            page.wait_for_load_state("load")
            check("Thank you!" in page.inner_text("body"), "the reply is on the page")

            # CSRF: the same form without its token is refused and adds nothing.
            before = len(expect_status(api("GET", f"/api/v1/tickets/{ticket_id}"), 200, "read")["comments"])
            page.evaluate("() => document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
            page.fill("#reply", "forged")
            with page.expect_navigation():
                page.click("#send-reply")
            check("expired" in page.inner_text("body"), "a form without its CSRF token is refused")
            after = len(expect_status(api("GET", f"/api/v1/tickets/{ticket_id}"), 200, "read")["comments"])
            check(after == before, "the refused form changed nothing")

            # Solved, then rated.
            expect_status(api("PATCH", f"/api/v1/tickets/{ticket_id}", {"status": "solved"}), 200, "solve")
            page.goto(f"{URL}/portal/tickets/{ticket_id}")
            page.check("input[value=good]")
            page.fill("#rating-comment", "Quick and kind")
            page.click("#rate")
            page.wait_for_load_state("load")
            check(page.inner_text("#rating") == "Your rating: good", "the rating is shown")
            rated = expect_status(api("GET", f"/api/v1/tickets/{ticket_id}"), 200, "read")
            check(rated["fields"].get("satisfaction") == "good", "the rating is on the ticket")

            # Every payload, in every field a requester or agent can write, on every page that shows it.
            made = []
            for i, payload in enumerate(PAYLOADS):
                t = expect_status(api("POST", "/api/v1/tickets", {
                    "subject": payload, "description": payload, "priority": "urgent",
                    "requester": {"name": payload, "email": "rita@example.com", "organization": payload},
                    "tags": [payload[:100]], "fields": {"note": payload}}), 201, f"ticket with payload {i}")
                expect_status(api("POST", f"/api/v1/tickets/{t['id']}/comments", {"body": payload, "public": True, "author": "requester", "author_name": payload}), 201, "payload comment")
                made.append((t["id"], payload))
            page.goto(URL + "/portal")
            clean(page, "portal list with every payload")
            rows = page.query_selector_all("#tickets tr")
            check(len(rows) == len(made) + 2, f"the list has {len(rows) - 1} tickets, not {len(made) + 1}")
            for ticket_id, payload in made:
                page.goto(f"{URL}/portal/tickets/{ticket_id}")
                clean(page, f"ticket {ticket_id}")
                shown = as_text(page.inner_text("#subject"))
                check(shown == as_text(f"#{ticket_id} {payload}"), f"ticket {ticket_id} shows its subject as text: {shown!r}")
                check(len(page.query_selector_all(".comment")) == 1, f"ticket {ticket_id} shows its one comment")

            # The dashboard, as a supervisor: agents' names and tickets' subjects.
            staff = browser.new_page()
            staff.set_default_timeout(15000)
            staff.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            sign_in(staff, "sue@example.com")
            check(staff.url == URL + "/", f"after sign-in the supervisor is at {staff.url}")
            staff.wait_for_selector("body[data-loaded=yes]", timeout=15000)
            clean(staff, "dashboard")
            risk = staff.query_selector_all("#risk tr")
            check(len(risk) == 51, f"the at-risk table has {len(risk) - 1} rows, not 50")
            agents = staff.query_selector_all("#agents tr")
            check(len(agents) == 21, f"the agents table has {len(agents) - 1} rows, not 20")
            shown = {row.query_selector_all("td")[0].inner_text() for row in agents[1:]}
            check(shown == {as_text(p) for p in PAYLOADS[:20]}, f"agents' names are shown as text: {shown ^ {as_text(p) for p in PAYLOADS[:20]}}")
            check(not dialogs, f"dialogs opened: {dialogs}")
        finally:
            browser.close()
    print(f"ok: portal flows, CSRF, {len(PAYLOADS)} XSS payloads on {len(PAYLOADS) + 3} pages", flush=True)


if __name__ == "__main__":
    main()
