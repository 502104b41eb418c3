// Backoff explorer: per attempt, the jitter band (grey), the jitter-free base (line), the planned
// delay (blue dot) and the waits a live client really took (orange dots). Labels are text nodes.

const NS = "http://www.w3.org/2000/svg";
const W = 640, H = 220, L = 48, B = 28, T = 24;

function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "sse-nb-backoff";
  root.style.cssText = "font:11px system-ui,sans-serif";
  el.append(root);

  function draw() {
    const planned = model.get("planned");
    const measured = model.get("measured");
    const n = Math.max(planned.length, ...measured.map((m) => m.attempt + 1), 1);
    const top = Math.max(0.001, ...planned.map((p) => p.high), ...measured.map((m) => m.wait));
    const x = (a) => L + ((a + 0.5) / n) * (W - L - 10);
    const y = (s) => H - B - (s / top) * (H - B - T);
    const bw = Math.max(6, ((W - L - 10) / n) * 0.5);
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img" });
    s.append(svg("title", {}, "reconnect waits per attempt"));
    s.append(svg("text", { x: L, y: 14, fill: "currentColor" }, model.get("title")));
    s.append(svg("line", { x1: L, x2: W - 10, y1: H - B, y2: H - B, stroke: "#999" }));
    s.append(svg("text", { x: 4, y: y(top) + 4, fill: "#777" }, `${top.toFixed(2)} s`));
    s.append(svg("text", { x: 4, y: H - B + 4, fill: "#777" }, "0 s"));
    for (const p of planned) {
      const cx = x(p.attempt);
      const band = svg("rect", { x: cx - bw / 2, y: y(p.high), width: bw, height: Math.max(1, y(p.low) - y(p.high)), fill: "#d0d7de", class: "sse-nb-band" });
      band.append(svg("title", {}, `attempt ${p.attempt}: ${p.low.toFixed(3)}–${p.high.toFixed(3)} s`));
      s.append(band);
      s.append(svg("line", { x1: cx - bw / 2, x2: cx + bw / 2, y1: y(p.base), y2: y(p.base), stroke: "#57606a" }));
      const dot = svg("circle", { cx, cy: y(p.delay), r: 4, fill: "#1f6feb", class: "sse-nb-planned" });
      dot.append(svg("title", {}, `planned ${p.delay.toFixed(3)} s`));
      s.append(dot);
      s.append(svg("text", { x: cx, y: H - B + 14, fill: "#777", "text-anchor": "middle" }, String(p.attempt)));
    }
    measured.forEach((m, i) => {
      const dot = svg("circle", { cx: x(m.attempt) + 6, cy: y(m.wait), r: 3.5, fill: "#f0a202", class: "sse-nb-measured" });
      dot.append(svg("title", {}, `measured ${m.wait.toFixed(3)} s (wait ${i + 1})`));
      s.append(dot);
    });
    s.append(svg("text", { x: W - 10, y: H - 4, fill: "#777", "text-anchor": "end" }, "attempt · blue planned · orange measured · grey jitter band"));
    root.replaceChildren(s);
    root.dataset.planned = String(planned.length);
    root.dataset.measured = String(measured.length);
  }
  draw();
  model.on("change", draw);
  return () => model.off("change", draw);
}

export default { render };
