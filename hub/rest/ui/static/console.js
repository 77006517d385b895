// Hub console: a small single-page app over Connect's REST API and the console's own /ui/api.
// No framework: each view is a function that fetches JSON and renders HTML into <main>; the hash is the route.
// Every value is escaped before it is put into HTML. Credentials (when the API asks) stay in sessionStorage.
"use strict";

const main = document.getElementById("main");
let me = { may_write: true, role: "admin", name: null };
let refreshTimer = null;
let charts = [];
// Bumped by every navigation: an answer arriving for an older view is dropped before it touches the page.
let generation = 0;

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  setTimeout(() => { if (t.textContent === text) t.textContent = ""; }, 4000);
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const auth = sessionStorage.getItem("hub-auth");
  if (auth) headers.Authorization = auth;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const asked = generation;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (asked !== generation) throw new ApiError(0, "the view changed meanwhile");
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401) { showLogin(); throw new ApiError(401, "authentication required"); }
  if (!response.ok) throw new ApiError(response.status, (data && data.message) || response.statusText);
  return data;
}

function showLogin() {
  stopRefresh();
  main.innerHTML = `<h1>Sign in</h1>
    <form id="login">
      <div class="field"><label for="login-user">User</label><input id="login-user" autocomplete="username"></div>
      <div class="field"><label for="login-password">Password</label>
        <input id="login-password" type="password" autocomplete="current-password"></div>
      <button type="submit">Sign in</button>
    </form>`;
  document.getElementById("login").onsubmit = async (event) => {
    event.preventDefault();
    const user = document.getElementById("login-user").value;
    const password = document.getElementById("login-password").value;
    sessionStorage.setItem("hub-auth", "Basic " + btoa(user + ":" + password));
    await start();
  };
}

function stopRefresh() {
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
  charts.forEach((c) => c.destroy());
  charts = [];
}

function every(ms, fn) { refreshTimer = setInterval(() => fn().catch(() => {}), ms); }

function stateBadge(state) { return `<span class="state-${esc(state)}">${esc(state)}</span>`; }

function progressText(p) {
  if (!p) return "";
  const parts = [];
  if (p.records !== undefined) parts.push(`${p.records} records`);
  if (p.records_per_second !== undefined) parts.push(`${Number(p.records_per_second).toFixed(1)}/s`);
  if (p.percent !== undefined) parts.push(`${Number(p.percent).toFixed(1)}%`);
  if (p.eta_seconds !== undefined) parts.push(`ETA ${Math.round(p.eta_seconds)} s`);
  if (p.phase) parts.push(p.phase);
  return parts.join(", ");
}

function pretty(text) {
  if (text === null || text === undefined) return "<em>null</em>";
  try { return `<pre>${esc(JSON.stringify(JSON.parse(text), null, 2))}</pre>`; } catch (e) { return `<pre>${esc(text)}</pre>`; }
}

// ---- Overview ----------------------------------------------------------------------------------------------------

async function overview() {
  const [statuses, topics, history, cluster] = await Promise.all([
    api("GET", "/connectors?expand=status"), api("GET", "/ui/api/topics"), api("GET", "/ui/api/history"),
    api("GET", "/ui/api/overview"),
  ]);
  const states = {};
  Object.values(statuses).forEach((s) => { const st = s.status.connector.state; states[st] = (states[st] || 0) + 1; });
  const nodes = cluster.nodes || [];
  const group = cluster.worker_group;
  const workerRows = cluster.workers.map((w) => `<tr><td>${esc(w.worker_id)}</td><td>${w.connectors}</td>
    <td>${w.tasks}</td></tr>`).join("");
  const nodeRows = nodes.map((n) => `<tr><td>${n.id}</td><td>${n.host ? esc(`${n.host}:${n.port}`) : "this process"}</td>
    <td>${esc(n.rack || "")}</td></tr>`).join("");
  main.innerHTML = `<h1>Overview</h1>
    <div class="cards">
      <div class="card"><strong id="count-connectors">${Object.keys(statuses).length}</strong>connectors</div>
      ${Object.entries(states).map(([s, n]) => `<div class="card"><strong>${n}</strong>${stateBadge(s)}</div>`).join("")}
      <div class="card"><strong>${topics.length}</strong>topics</div>
      <div class="card"><strong id="count-workers">${group ? group.members.length : cluster.workers.length}</strong>workers</div>
      <div class="card"><strong id="count-nodes">${nodes.length}</strong>store nodes</div>
    </div>
    <h2>Workers</h2>
    ${group ? `<p>Group <code>${esc(group.group)}</code>: ${esc(group.state)}, ${group.members.length} member(s).</p>` : ""}
    <table id="workers"><thead><tr><th>Worker</th><th>Connectors</th><th>Tasks</th></tr></thead>
      <tbody>${workerRows}</tbody></table>
    <h2>Store nodes</h2>
    ${cluster.cluster_id ? `<p>Cluster <code>${esc(cluster.cluster_id)}</code></p>` : ""}
    <table id="nodes"><thead><tr><th>Node</th><th>Address</th><th>Rack</th></tr></thead>
      <tbody>${nodeRows || '<tr><td colspan="3">This worker has no store to show.</td></tr>'}</tbody></table>
    <h2>Last hour</h2>
    <div class="charts"><div id="chart-rate"></div><div id="chart-lag"></div></div>`;
  drawCharts(history);
}

function drawCharts(history) {
  const names = Object.keys(history);
  const times = [...new Set(names.flatMap((n) => history[n].t))].sort((a, b) => a - b);
  const series = (key) => names.map((n) => {
    const at = new Map(history[n].t.map((t, i) => [t, history[n][key][i]]));
    return times.map((t) => (at.has(t) ? at.get(t) : null));
  });
  const palette = ["#1f5fbf", "#b3261e", "#0b6b1f", "#7a4a00", "#5b2a86", "#006d77"];
  for (const [key, title, id] of [["rate", "Records per second", "chart-rate"], ["lag", "Lag (records)", "chart-lag"]]) {
    const options = {
      title, width: 520, height: 240,
      series: [{}, ...names.map((n, i) => ({ label: n, stroke: palette[i % palette.length], spanGaps: true }))],
    };
    charts.push(new uPlot(options, [times, ...series(key)], document.getElementById(id)));
  }
}

// ---- Connectors --------------------------------------------------------------------------------------------------

async function connectors() {
  const statuses = await api("GET", "/connectors?expand=status&expand=info");
  const rows = Object.entries(statuses).sort().map(([name, s]) => {
    const tasks = s.status.tasks;
    const progress = tasks.map((t) => progressText(t.progress)).filter(Boolean).join("; ");
    const lag = tasks.reduce((sum, t) => sum + ((t.progress && t.progress.lag_records) || 0), 0);
    return `<tr><td><a href="#/connectors/${encodeURIComponent(name)}">${esc(name)}</a></td><td>${esc(s.status.type)}</td>
      <td>${stateBadge(s.status.connector.state)}</td><td>${tasks.map((t) => stateBadge(t.state)).join(" ")}</td>
      <td>${esc(progress)}</td><td>${s.status.type === "sink" ? lag : ""}</td></tr>`;
  }).join("");
  main.innerHTML = `<h1>Connectors</h1>
    <table id="connectors"><thead><tr><th>Name</th><th>Type</th><th>State</th><th>Tasks</th><th>Progress</th>
    <th>Lag</th></tr></thead><tbody>${rows || '<tr><td colspan="6">No connectors yet.</td></tr>'}</tbody></table>`;
}

async function connector(name) {
  const path = `/connectors/${encodeURIComponent(name)}`;
  main.innerHTML = `<h1>Connector ${esc(name)}</h1><div id="status"></div>
    <div id="actions"></div><h2>Offsets</h2><div id="offsets"></div>
    <h2>Configuration</h2><div id="config"></div>`;
  const renderStatus = async () => {
    const s = await api("GET", path + "/status");
    const tasks = s.tasks.map((t) => `<tr><td>${t.id}</td><td>${stateBadge(t.state)}</td><td>${esc(t.worker_id)}</td>
      <td class="progress">${esc(progressText(t.progress))}</td>
      <td>${t.progress && t.progress.lag_records !== undefined ? t.progress.lag_records : ""}</td>
      <td>${t.trace ? `<pre class="trace">${esc(t.trace)}</pre>` : ""}</td></tr>`).join("");
    document.getElementById("status").innerHTML = `<p>Type ${esc(s.type)}, state
      <span id="connector-state">${stateBadge(s.connector.state)}</span> on ${esc(s.connector.worker_id)}</p>
      ${s.connector.trace ? `<pre class="trace">${esc(s.connector.trace)}</pre>` : ""}
      <table id="tasks"><thead><tr><th>Task</th><th>State</th><th>Worker</th><th>Progress</th><th>Lag</th>
      <th>Error trace</th></tr></thead><tbody>${tasks}</tbody></table>`;
    return s;
  };
  const status = await renderStatus();
  if (me.may_write) {
    const actions = [
      ["pause", "Pause", "PUT", "/pause"], ["resume", "Resume", "PUT", "/resume"],
      ["restart", "Restart with tasks", "POST", "/restart?includeTasks=true"], ["stop", "Stop", "PUT", "/stop"],
      ["delete", "Delete", "DELETE", ""],
    ];
    const box = document.getElementById("actions");
    box.innerHTML = actions.map(([id, label]) => `<button id="action-${id}">${label}</button>`).join("");
    for (const [id, label, method, suffix] of actions) {
      document.getElementById(`action-${id}`).onclick = async () => {
        if (id === "delete" && !confirm(`Delete connector ${name}?`)) return;
        try {
          await api(method, path + suffix);
          toast(`${label}: done`);
          if (id === "delete") { location.hash = "#/connectors"; return; }
          await renderStatus();
        } catch (e) { toast(`${label} failed: ${e.message}`); }
      };
    }
  }
  const offsets = await api("GET", path + "/offsets");
  document.getElementById("offsets").innerHTML = `<table id="offsets-table"><thead><tr><th>Partition</th><th>Offset</th>
    </tr></thead><tbody>${offsets.offsets.map((o) => `<tr><td>${esc(JSON.stringify(o.partition))}</td>
    <td>${esc(JSON.stringify(o.offset))}</td></tr>`).join("") || '<tr><td colspan="2">None</td></tr>'}</tbody></table>
    ${me.may_write ? '<button id="reset-offsets">Reset offsets (connector must be stopped)</button>' : ""}`;
  if (me.may_write) {
    document.getElementById("reset-offsets").onclick = async () => {
      try { toast((await api("DELETE", path + "/offsets")).message); } catch (e) { toast(`Reset failed: ${e.message}`); }
    };
  }
  const shown = await api("GET", `/ui/api/connectors/${encodeURIComponent(name)}/config`);
  document.getElementById("config").innerHTML = `<p>Secret values are shown as ******** and kept unless replaced.</p>
    <label for="config-json">Config (JSON)</label><br>
    <textarea id="config-json" rows="14" ${me.may_write ? "" : "readonly"}>${esc(JSON.stringify(shown.config, null, 2))}</textarea>
    <br>${me.may_write ? '<button id="save-config">Save config</button>' : ""}`;
  if (me.may_write) {
    document.getElementById("save-config").onclick = async () => {
      try {
        const config = JSON.parse(document.getElementById("config-json").value);
        await api("PUT", `/ui/api/connectors/${encodeURIComponent(name)}/config`, config);
        toast("Config saved");
      } catch (e) { toast(`Save failed: ${e.message}`); }
    };
  }
  every(3000, renderStatus);
  return status;
}

// ---- New connector -----------------------------------------------------------------------------------------------

async function newConnector() {
  if (!me.may_write) { main.innerHTML = "<h1>New connector</h1><p>Your role may only read.</p>"; return; }
  const plugins = await api("GET", "/connector-plugins");
  main.innerHTML = `<h1>New connector</h1>
    <div class="field"><label for="plugin">Plugin</label><select id="plugin">
      ${plugins.map((p) => `<option value="${esc(p.class)}">${esc(p.class)} (${esc(p.type)})</option>`).join("")}
    </select></div>
    <div class="field"><label for="field-name">name</label><input id="field-name" data-key="name">
      <span class="error" id="error-name"></span></div>
    <div id="fields"></div>
    <details><summary>Paste a JSON config</summary>
      <label for="pasted">Config JSON</label><br><textarea id="pasted" rows="8"></textarea><br>
      <button id="apply-pasted">Fill the form</button></details>
    <p><button id="create">Create connector</button> <span id="create-error" class="error"></span></p>`;
  let options = [];
  const values = () => {
    const config = { "connector.class": document.getElementById("plugin").value };
    document.querySelectorAll("#fields input").forEach((input) => { if (input.value !== "") config[input.dataset.key] = input.value; });
    const name = document.getElementById("field-name").value;
    if (name) config.name = name;
    return config;
  };
  let pending = null;
  const validate = async () => {
    const config = values();
    const result = await api("PUT", `/connector-plugins/${encodeURIComponent(config["connector.class"])}/config/validate`, config);
    document.querySelectorAll(".error[id^=error-]").forEach((e) => { e.textContent = ""; });
    for (const c of result.configs) {
      const target = document.getElementById(`error-${c.value.name}`);
      if (target) target.textContent = c.value.errors.join("; ");
    }
    return result;
  };
  const scheduleValidate = () => { clearTimeout(pending); pending = setTimeout(() => validate().catch(() => {}), 300); };
  const renderFields = async () => {
    const plugin = document.getElementById("plugin").value;
    options = await api("GET", `/connector-plugins/${encodeURIComponent(plugin)}/config`);
    const skip = new Set(["name", "connector.class"]);
    const sorted = options.filter((o) => !skip.has(o.name)).sort((a, b) => (b.required - a.required) || a.name.localeCompare(b.name));
    document.getElementById("fields").innerHTML = sorted.map((o) => {
      const id = "field-" + o.name.replace(/[^A-Za-z0-9_-]/g, "_");
      return `<div class="field"><label for="${esc(id)}">${esc(o.name)}${o.required ? " *" : ""}</label>
        <input id="${esc(id)}" data-key="${esc(o.name)}" ${o.type === "PASSWORD" ? 'type="password" autocomplete="off"' : ""}
          placeholder="${esc(o.default_value ?? "")}">
        <span class="error" id="error-${esc(o.name)}"></span>
        <span class="doc">${esc(o.documentation)}</span></div>`;
    }).join("");
    document.querySelectorAll("#fields input").forEach((input) => { input.oninput = scheduleValidate; });
  };
  document.getElementById("plugin").onchange = renderFields;
  document.getElementById("field-name").oninput = scheduleValidate;
  document.getElementById("apply-pasted").onclick = async () => {
    try {
      let doc = JSON.parse(document.getElementById("pasted").value);
      if (doc.config) { if (doc.name) doc.config.name = doc.name; doc = doc.config; }
      if (doc["connector.class"]) {
        const select = document.getElementById("plugin");
        const match = [...select.options].find((o) => o.value === doc["connector.class"] || o.value.endsWith("." + doc["connector.class"]));
        if (match) { select.value = match.value; await renderFields(); }
      }
      for (const [key, value] of Object.entries(doc)) {
        const input = document.querySelector(`[data-key="${CSS.escape(key)}"]`);
        if (input) input.value = String(value);
      }
      await validate();
    } catch (e) { toast(`Cannot use that JSON: ${e.message}`); }
  };
  document.getElementById("create").onclick = async () => {
    const config = values();
    const name = config.name;
    delete config.name;
    try {
      await api("POST", "/connectors", { name, config });
      location.hash = `#/connectors/${encodeURIComponent(name)}`;
    } catch (e) {
      document.getElementById("create-error").textContent = e.message;
      await validate().catch(() => {});
    }
  };
  await renderFields();
}

// ---- Topics ------------------------------------------------------------------------------------------------------

async function topics() {
  const list = await api("GET", "/ui/api/topics");
  main.innerHTML = `<h1>Topics</h1><table id="topics"><thead><tr><th>Topic</th><th>Partitions</th><th>Messages</th>
    <th>Size</th></tr></thead><tbody>${list.map((t) => `<tr><td><a href="#/topics/${encodeURIComponent(t.name)}">${
      esc(t.name)}</a></td><td>${t.partitions}</td><td>${t.messages}</td><td class="size">${size(t.bytes)}</td></tr>`)
      .join("") || '<tr><td colspan="4">No topics.</td></tr>'}
    </tbody></table>`;
}

// Bytes a log takes, or "unknown" where the store cannot tell (a broker without DescribeLogDirs).
function size(bytes) {
  if (bytes === null || bytes === undefined) return "unknown";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function messageRows(records, selectable) {
  return records.map((r) => `<tr>${selectable ? `<td><input type="checkbox" class="pick" data-offset="${r.offset}"
      data-partition="${r.partition}" aria-label="Select record ${r.offset}"></td>` : ""}
    <td>${r.partition}</td><td>${r.offset}</td><td>${esc(new Date(r.timestamp).toISOString())}</td>
    <td>${pretty(r.key)}</td><td>${pretty(r.value)}</td>
    <td>${r.headers.map(([k, v]) => headerLine(k, v)).join("")}</td></tr>`).join("");
}

// A long header value (a dead-letter record's stack trace) stays folded until asked for.
function headerLine(key, value) {
  if (value === null || value.length <= 160) return `<div><strong>${esc(key)}</strong>: ${esc(value ?? "null")}</div>`;
  return `<details><summary><strong>${esc(key)}</strong> (${value.length} characters)</summary><pre>${esc(value)}</pre></details>`;
}

function messagesTable(id, records, selectable) {
  return `<table id="${id}"><thead><tr>${selectable ? "<th>Pick</th>" : ""}<th>Partition</th><th>Offset</th>
    <th>Timestamp</th><th>Key</th><th>Value</th><th>Headers</th></tr></thead>
    <tbody>${messageRows(records, selectable) || `<tr><td colspan="${selectable ? 7 : 6}">No records.</td></tr>`}</tbody></table>`;
}

async function topic(name) {
  const t = await api("GET", `/ui/api/topics/${encodeURIComponent(name)}`);
  main.innerHTML = `<h1>Topic ${esc(name)}</h1>
    <p>Size: <strong id="topic-size">${size(t.bytes)}</strong></p>
    <table id="partitions"><thead><tr><th>Partition</th><th>Earliest offset</th><th>Latest offset</th><th>Messages</th>
    <th>Size</th></tr></thead><tbody>${t.partitions.map((p) => `<tr><td>${p.partition}</td><td>${p.earliest}</td>
    <td>${p.latest}</td><td>${p.latest - p.earliest}</td><td>${size(p.bytes)}</td></tr>`).join("")}</tbody></table>
    <h2>Messages</h2>
    <form id="browse">
      <label for="browse-partition">Partition</label> <input id="browse-partition" type="number" min="0" value="0">
      <label for="browse-offset">From offset</label> <input id="browse-offset" type="number" min="0">
      <label for="browse-time">or from time</label> <input id="browse-time" type="datetime-local">
      <label for="browse-limit">Limit</label> <input id="browse-limit" type="number" min="1" max="200" value="50">
      <button type="submit">Show messages</button>
    </form><div id="messages"></div>
    ${me.may_write ? `<h2>Produce a test message</h2><form id="produce">
      <div class="field"><label for="produce-key">Key</label><input id="produce-key"></div>
      <div class="field"><label for="produce-value">Value</label><textarea id="produce-value" rows="3"></textarea></div>
      <div class="field"><label for="produce-headers">Headers (JSON object)</label><input id="produce-headers" value="{}"></div>
      <button type="submit">Produce</button></form>` : ""}
    <h2>Configs</h2><table id="configs"><thead><tr><th>Config</th><th>Value</th></tr></thead>
    <tbody>${Object.entries(t.configs).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</tbody></table>`;
  const show = async () => {
    const params = new URLSearchParams({ partition: document.getElementById("browse-partition").value || "0",
      limit: document.getElementById("browse-limit").value || "50" });
    const offset = document.getElementById("browse-offset").value;
    const time = document.getElementById("browse-time").value;
    if (time) params.set("timestamp", String(new Date(time).getTime()));
    else if (offset) params.set("offset", offset);
    const records = await api("GET", `/ui/api/topics/${encodeURIComponent(name)}/messages?${params}`);
    document.getElementById("messages").innerHTML = messagesTable("message-list", records, false);
  };
  document.getElementById("browse").onsubmit = (event) => { event.preventDefault(); show().catch((e) => toast(e.message)); };
  if (me.may_write) {
    document.getElementById("produce").onsubmit = async (event) => {
      event.preventDefault();
      try {
        const written = await api("POST", `/ui/api/topics/${encodeURIComponent(name)}/messages`, {
          key: document.getElementById("produce-key").value || null,
          value: document.getElementById("produce-value").value,
          headers: JSON.parse(document.getElementById("produce-headers").value || "{}"),
        });
        toast(`Written to partition ${written.partition} at offset ${written.offset}`);
      } catch (e) { toast(`Produce failed: ${e.message}`); }
    };
  }
  await show();
}

// ---- Consumer groups ---------------------------------------------------------------------------------------------

async function groups() {
  const assigned = (m) => m.assignment.map((tp) => `${esc(tp.topic)}-${tp.partition}`).join(", ") || "none";
  const members = (g) => (g.members.length
    ? `<table><caption>Members</caption><thead><tr><th>Member id</th><th>Client id</th><th>Host</th>
      <th>Assigned partitions</th></tr></thead><tbody>
      ${g.members.map((m) => `<tr class="member"><td>${esc(m.member_id)}</td><td>${esc(m.client_id)}</td>
      <td>${esc(m.host)}</td><td>${assigned(m)}</td></tr>`).join("")}</tbody></table>`
    : "<p>No members.</p>");
  const tasks = (g) => (g.tasks
    ? `<table><caption>Connector tasks</caption><thead><tr><th>Task</th><th>Worker</th><th>State</th></tr></thead>
      <tbody>${g.tasks.map((t) => `<tr><td>${t.task}</td><td>${esc(t.worker_id)}</td><td>${stateBadge(t.state)}</td>
      </tr>`).join("")}</tbody></table>`
    : "");
  const render = async () => {
    const list = await api("GET", "/ui/api/groups");
    main.innerHTML = `<h1>Consumer groups</h1>${list.map((g) => `<section class="group" data-group="${esc(g.group)}">
      <h2>${esc(g.group)}${g.connector ? ` (connector <a href="#/connectors/${encodeURIComponent(g.connector)}">${
        esc(g.connector)}</a>)` : ""}</h2>
      <p>State: ${stateBadge(g.state)}${g.protocol_type ? `, protocol type ${esc(g.protocol_type)}` : ""}.
      Total lag: <strong class="lag" id="lag-${esc(g.group)}">${g.lag}</strong></p>
      ${members(g)}${tasks(g)}
      ${g.partitions.length ? `<table><caption>Lag per partition</caption><thead><tr><th>Topic</th><th>Partition</th>
      <th>Member</th><th>Committed</th><th>End</th><th>Lag</th></tr></thead><tbody>
      ${g.partitions.map((p) => `<tr><td>${esc(p.topic)}</td><td>${p.partition}</td><td>${esc(p.member ?? "")}</td>
      <td>${p.committed ?? "none"}</td><td>${p.end}</td><td>${p.lag ?? "unknown"}</td></tr>`).join("")}
      </tbody></table>` : "<p>No committed offsets nor assigned partitions.</p>"}</section>`).join("")
      || "<p>No consumer groups.</p>"}`;
  };
  await render();
  every(2000, render);
}

// ---- Dead-letter queues ------------------------------------------------------------------------------------------

async function deadLetters(selected) {
  const queues = await api("GET", "/ui/api/dlq");
  main.innerHTML = `<h1>Dead-letter queues</h1><ul>${queues.map((q) => `<li><a href="#/dlq/${encodeURIComponent(q.topic)}">
    ${esc(q.topic)}</a> (connector ${esc(q.connector)})</li>`).join("") || "<li>No connector has a dead-letter queue.</li>"}</ul>
    <div id="dlq-records"></div>`;
  if (!selected) return;
  const t = await api("GET", `/ui/api/topics/${encodeURIComponent(selected)}`);
  const records = [];
  for (const p of t.partitions) {
    const from = Math.max(p.earliest, p.latest - 200);
    records.push(...await api("GET", `/ui/api/topics/${encodeURIComponent(selected)}/messages?partition=${p.partition}&offset=${from}&limit=200`));
  }
  document.getElementById("dlq-records").innerHTML = `<h2>${esc(selected)}</h2>
    ${messagesTable("dlq-list", records, me.may_write)}
    ${me.may_write ? '<button id="resend">Re-send selected records to their original topic</button>' : ""}`;
  if (me.may_write) {
    document.getElementById("resend").onclick = async () => {
      const picked = [...document.querySelectorAll(".pick:checked")];
      if (!picked.length) { toast("Select records first"); return; }
      const byPartition = {};
      picked.forEach((c) => { (byPartition[c.dataset.partition] ||= []).push(Number(c.dataset.offset)); });
      try {
        let count = 0;
        for (const [partition, offsets] of Object.entries(byPartition)) {
          count += (await api("POST", `/ui/api/dlq/${encodeURIComponent(selected)}/resend`, { partition: Number(partition), offsets })).resent.length;
        }
        toast(`Re-sent ${count} record(s)`);
      } catch (e) { toast(`Re-send failed: ${e.message}`); }
    };
  }
}

// ---- Routing -----------------------------------------------------------------------------------------------------

async function route() {
  generation += 1;
  stopRefresh();
  document.getElementById("toast").textContent = "";  // a confirmation belongs to the view it was given in
  const [view, arg] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const views = {
    "": overview, connectors: (a) => (a ? connector(a) : connectors()), new: newConnector,
    topics: (a) => (a ? topic(a) : topics()), groups, dlq: deadLetters,
  };
  const render = views[view] || overview;
  document.querySelectorAll("nav a").forEach((a) => a.removeAttribute("aria-current"));
  const current = document.querySelector(`nav a[href="#/${view || ""}"]`);
  if (current) current.setAttribute("aria-current", "page");
  try {
    await render(arg);
    main.dataset.view = view || "overview";
  } catch (e) {
    if (e.status !== 401 && e.status !== 0) main.innerHTML = `<h1>Error</h1><p class="error" id="view-error">${esc(e.message)}</p>`;
  }
}

async function start() {
  try { me = await api("GET", "/ui/api/whoami"); } catch (e) { return; }
  document.getElementById("who").textContent = me.name ? `${me.name} (${me.role})` : "";
  document.getElementById("nav-new").hidden = !me.may_write;
  await route();
}

window.addEventListener("hashchange", route);
start();
