// The browser's own EventSource, run in the page and reported to the kernel.
// The EventSource lives on the model (initialize), so a second view shows the same connection.
// Reports to the kernel (traits + an "events" message) are batched, at most flush_hz a second,
// and the views are redrawn right after each report, never ahead of it.
// Event data is written with textContent only.

const NAMES = ["CONNECTING", "OPEN", "CLOSED"];
const COLOURS = { CONNECTING: "#f0a202", OPEN: "#2e9e44", CLOSED: "#d1342f" };
const MAX_REPORT = 1000; // rows per report at most; the count still covers every event

function baseUrl() {
  try {
    const node = document.getElementById("jupyter-config-data");
    const cfg = JSON.parse(node ? node.textContent : "{}");
    return cfg.baseUrl || "/";
  } catch (e) {
    return "/";
  }
}

// The url as shown and reported: a token in the query keeps its first 4 characters only.
function shown(url) {
  return url.replace(/([?&]token=)([^&]*)/g, (_, key, value) => key + decodeURIComponent(value).slice(0, 4) + "…");
}

// How the page itself was fetched: "http/1.1", "h2", "h3" ("" when the browser does not say).
function pageProtocol() {
  try {
    const nav = performance.getEntriesByType("navigation")[0];
    return (nav && nav.nextHopProtocol) || "";
  } catch (e) {
    return "";
  }
}

// EventSources of this page open or connecting to the page's own origin (all widgets).
function sameOriginSources() {
  let n = 0;
  for (const other of STATES.values()) {
    if (!other.es) continue;
    try {
      if (new URL(other.es.url, location.href).origin === location.origin) n += 1;
    } catch (e) {
      // an unparsable url is no connection to this origin
    }
  }
  return n;
}

// anywidget hands initialize() and each render() different wrappers of the model, so the
// connection's state is found by the model's `key` trait.
const STATES = (globalThis.__sse_nb_browsers ??= new Map());

function initialize({ model }) {
  const st = {
    es: null,
    client: "",
    lastId: "", // the browser's own last event id (MessageEvent.lastEventId)
    received: 0,
    rows: [],
    pending: [],
    state: 2,
    error: "",
    url: "",
    route: "",
    dirty: true,
    listeners: new Set(),
  };
  STATES.set(model.get("key"), st);

  // Changes are only marked here; the reporter below tells the kernel first and then redraws
  // the views, so whatever a view shows has already been sent to the kernel.
  function notify() {
    st.dirty = true;
  }
  function onEvent(ev) {
    st.received += 1;
    st.lastId = ev.lastEventId;
    const row = [st.received, ev.lastEventId, ev.type, String(ev.data), Date.now() / 1000];
    st.rows.push(row);
    const max = Math.max(1, model.get("max_rows"));
    if (st.rows.length > max) st.rows.splice(0, st.rows.length - max);
    st.pending.push(row);
    if (st.pending.length > MAX_REPORT) st.pending.splice(0, st.pending.length - MAX_REPORT);
    notify();
  }
  function closeSource(reason) {
    if (!st.es) return;
    st.es.close();
    st.es = null;
    st.state = 2;
    model.send({ kind: "closed", client: st.client, reason });
    notify();
  }
  function open(msg) {
    closeSource("reopened");
    const resume = msg.last_event_id === null || msg.last_event_id === undefined ? st.lastId : msg.last_event_id;
    let url = msg.url;
    if (resume) url += (url.includes("?") ? "&" : "?") + "lastEventId=" + encodeURIComponent(resume);
    st.client = msg.client;
    st.route = msg.route || "";
    st.url = shown(url);
    st.error = "";
    const es = new EventSource(url);
    st.es = es;
    st.state = es.readyState;
    es.onopen = () => {
      st.state = es.readyState;
      st.error = "";
      notify();
    };
    es.onerror = () => {
      if (st.es !== es) return;
      st.state = es.readyState;
      if (es.readyState === 2) {
        // The browser gave up ("fail the connection"): no reconnect will follow.
        st.error = "connection failed";
        st.es = null;
        model.send({ kind: "closed", client: st.client, reason: "failed" });
      } else {
        st.error = "connection lost; the browser reconnects";
      }
      notify();
    };
    es.addEventListener("message", onEvent);
    const gapType = model.get("gap_type");
    es.addEventListener(gapType, onEvent);
    for (const t of model.get("event_types")) if (t !== "message" && t !== gapType) es.addEventListener(t, onEvent);
    notify();
  }

  // A short-lived probe of a route, for the doctor: a fetch() read for msg.ms milliseconds,
  // reporting the status, the headers that matter, and when each event and heartbeat arrived
  // (page clock, epoch seconds). An EventSource hides all of these.
  async function probe(msg) {
    const started = performance.now();
    const out = {
      kind: "probed",
      client: msg.client,
      url: shown(msg.url),
      status: 0,
      content_type: "",
      accel_buffering: "",
      headers_ms: -1,
      events: [],
      heartbeats: [],
      chunks: 0,
      error: "",
      same_origin_sources: sameOriginSources(),
    };
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), msg.ms);
    try {
      const resp = await fetch(msg.url, { headers: { Accept: "text/event-stream" }, cache: "no-store", signal: ctl.signal });
      out.status = resp.status;
      out.headers_ms = performance.now() - started;
      out.content_type = resp.headers.get("content-type") || "";
      out.accel_buffering = resp.headers.get("x-accel-buffering") || "";
      if (resp.ok && resp.body) {
        const reader = resp.body.getReader();
        const decoder = new TextDecoder();
        let rest = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const now = Date.now() / 1000;
          out.chunks += 1;
          const lines = (rest + decoder.decode(value, { stream: true })).split("\n");
          rest = lines.pop();
          for (const line of lines) {
            if (line.startsWith("data:")) out.events.push([line.slice(5).trim(), now]);
            else if (line.startsWith(":") && line.slice(1).trim() === "") out.heartbeats.push(now);
          }
        }
      }
    } catch (e) {
      if (e.name !== "AbortError") out.error = String(e);
    }
    clearTimeout(timer);
    model.send(out);
  }

  model.on("msg:custom", (msg) => {
    if (!msg) return;
    if (msg.kind === "probe") probe(msg);
    else if (msg.kind === "open") open(msg);
    else if (msg.kind === "close") closeSource("close() called");
  });
  st.close = closeSource;

  // One reporter: readyState is polled too, since EventSource fires no event when it starts
  // reconnecting after onerror has been reported.
  const period = 1000 / Math.max(0.1, model.get("flush_hz"));
  const timer = setInterval(() => {
    if (st.es && st.es.readyState !== st.state) {
      st.state = st.es.readyState;
      notify();
    }
    if (!st.dirty) return;
    st.dirty = false;
    if (st.pending.length) {
      model.send({ kind: "events", rows: st.pending });
      st.pending = [];
    }
    model.set("ready_state", st.state);
    model.set("last_event_id", st.lastId);
    model.set("events_received", st.received);
    model.set("page_url", st.url);
    model.set("error", st.error);
    model.save_changes();
    for (const fn of st.listeners) fn();
  }, period);

  model.send({
    kind: "hello",
    origin: location.origin,
    hostname: location.hostname,
    base_url: baseUrl(),
    protocol: pageProtocol(),
    same_origin_sources: sameOriginSources(),
  });
  return () => {
    clearInterval(timer);
    if (st.es) st.es.close();
    STATES.delete(model.get("key"));
  };
}

function text(tag, value, css) {
  const e = document.createElement(tag);
  e.textContent = value;
  if (css) e.style.cssText = css;
  return e;
}

function render({ model, el }) {
  const st = STATES.get(model.get("key"));
  if (!st) return;
  const root = document.createElement("div");
  root.className = "sse-nb-browser";
  root.style.cssText = "font:13px/1.6 system-ui,sans-serif";
  const line = document.createElement("div");
  line.style.cssText = "display:flex;flex-wrap:wrap;align-items:center;gap:.8em";
  const light = text("span", "", "display:inline-block;width:14px;height:14px;border-radius:50%;border:1px solid rgba(0,0,0,.3)");
  const state = text("strong", "");
  const info = text("span", "");
  const closeB = text("button", "Close");
  closeB.className = "sse-nb-close";
  closeB.addEventListener("click", () => st.close("closed in the page"));
  const reopenB = text("button", "Reopen");
  reopenB.className = "sse-nb-reopen";
  reopenB.addEventListener("click", () => model.send({ kind: "reopen" }));
  line.append(light, text("span", "browser EventSource", "opacity:.7"), state, info, closeB, reopenB);
  const url = text("div", "", "opacity:.6;font-size:12px;overflow-wrap:anywhere");
  url.className = "sse-nb-url";
  const list = document.createElement("div");
  list.className = "sse-nb-events";
  list.style.cssText = "font:12px/1.4 ui-monospace,monospace;max-height:16em;overflow:auto";
  root.append(line, url, list);
  el.append(root);

  function update() {
    const name = NAMES[st.state] || "CLOSED";
    root.dataset.state = name;
    root.dataset.lastId = st.lastId;
    root.dataset.received = String(st.received);
    root.dataset.route = st.route || "";
    root.dataset.client = st.client;
    light.style.background = COLOURS[name];
    state.textContent = name;
    info.textContent = `last id ${st.lastId || "—"} · events ${st.received}` + (st.error ? ` · ${st.error}` : "");
    url.textContent = st.url;
    list.replaceChildren(
      ...st.rows.map((r) => {
        const d = text("div", `${r[1] || "-"}  ${r[2]}  ${r[3]}`, "white-space:pre;overflow:hidden;text-overflow:ellipsis");
        d.className = "sse-nb-row";
        return d;
      }),
    );
    list.scrollTop = list.scrollHeight;
  }
  let frame = 0;
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(() => ((frame = 0), update()));
  };
  st.listeners.add(schedule);
  update();
  return () => {
    st.listeners.delete(schedule);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { initialize, render };
