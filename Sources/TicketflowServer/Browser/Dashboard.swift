import HTTPTypes
/// The supervisor dashboard: a page that polls the JSON API with the browser's session. Its
/// script and style are served as files (`/assets/…`) so the page's Content-Security-Policy
/// admits no inline script; the script builds the tables with `textContent`, never with
/// markup, so no value from a ticket can become HTML.
enum Dashboard {
    static let page = """
    {{> head}}
    <h1>Ticketflow <span class="muted" id="wf"></span></h1>
    <div id="cluster" hidden><h2>Cluster <span class="muted" id="missing"></span></h2><table id="members"><tr><th>node</th><th>http</th><th>alive</th><th>last heard</th><th>partitions</th><th>tickets in memory</th><th>timers</th><th>agents</th></tr></table></div>
    <h2>Queues</h2><table id="queues"><tr><th>queue</th><th>line</th><th>routing</th><th>waiting</th><th>longest wait</th></tr></table>
    <h2>Agents</h2><table id="agents"><tr><th>agent</th><th>line</th><th>presence</th><th>load</th><th>capacity</th></tr></table>
    <h2>SLA at risk (next hour)</h2><table id="risk"><tr><th>ticket</th><th>subject</th><th>priority</th><th>line</th><th>due</th></tr></table>
    <h2>SLA breached</h2><table id="breached"><tr><th>ticket</th><th>subject</th><th>priority</th><th>line</th><th>assignee</th></tr></table>
    <p class="muted">Refreshes every 5 seconds. Data: <a href="/api/v1/queues">/api/v1/queues</a>, <a href="/api/v1/agents">/api/v1/agents</a>, <a href="/metrics">/metrics</a>.</p>
    <script src="/assets/dashboard.js"></script>
    {{> foot}}
    """

    static let script = """
    "use strict";
    function cell(tr, value, bad) {
      const td = tr.insertCell();
      if (bad) { const s = document.createElement("span"); s.className = "bad"; s.textContent = String(value ?? ""); td.appendChild(s); }
      else td.textContent = String(value ?? "");
    }
    function fill(id, rows) {
      const t = document.getElementById(id);
      while (t.rows.length > 1) t.deleteRow(1);
      for (const r of rows) { const tr = t.insertRow(); for (const c of r) Array.isArray(c) ? cell(tr, c[0], true) : cell(tr, c, false); }
    }
    async function refresh() {
      const get = async u => (await fetch(u)).json();
      const [wf, q, a, risk, breached] = await Promise.all([get("/api/v1/workflow"), get("/api/v1/queues"), get("/api/v1/agents"),
        get("/api/v1/tickets?sla=at_risk&limit=50"), get("/api/v1/tickets?sla=breached&limit=50")]);
      document.getElementById("wf").textContent = wf.label;
      const cluster = await fetch("/api/v1/cluster");
      if (cluster.ok) {
        const c = await cluster.json();
        document.getElementById("cluster").hidden = false;
        document.getElementById("missing").textContent = q.unavailable_nodes && q.unavailable_nodes.length ? "not answering: " + q.unavailable_nodes.join(", ") : "seen from " + c.node;
        fill("members", c.members.map(m => [m.name, m.http, m.alive ? "yes" : ["no"],
          m.last_heard_ms_ago === null ? "never" : m.last_heard_ms_ago + " ms ago", m.partitions,
          m.load ? m.load.active_tickets : "—", m.load ? m.load.pending_timers : "—", m.load ? m.load.agents : "—"]));
      }
      fill("queues", q.queues.map(x => [x.name, x.line, x.routing, x.waiting, x.longest_wait_seconds + " s"]));
      fill("agents", a.agents.map(x => [x.name, x.line, x.presence, x.load, x.capacity]));
      const due = t => (t.sla.filter(c => c.state === "running" && c.due).map(c => c.due).sort()[0] || "");
      fill("risk", risk.tickets.map(t => [t.id, t.subject, t.priority, t.line, due(t)]));
      fill("breached", breached.tickets.map(t => [[t.id], t.subject, t.priority, t.line, t.assignee]));
      document.body.dataset.loaded = "yes";
    }
    refresh(); setInterval(refresh, 5000);
    """
}
