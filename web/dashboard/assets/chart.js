// chart.js draws the node page's metrics: one SVG line chart per series,
// from the JSON in #charts' data-series attribute
// ([{name, unit, t: [unix ms], v: [numbers]}]). No library, no network.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 180, L = 56, R = 12, T = 12, B = 24;

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  // fmt shows v with SI suffixes; span (the axis range) decides the
  // decimals so that neighbouring grid labels differ.
  function fmt(v, span) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e3) return (v / 1e3).toFixed(1) + "k";
    span = span === undefined ? a : span;
    return v.toFixed(span >= 10 ? 0 : span >= 1 ? 1 : 2);
  }
  function hhmm(ms) {
    var d = new Date(ms);
    return ("0" + d.getUTCHours()).slice(-2) + ":" + ("0" + d.getUTCMinutes()).slice(-2);
  }

  function draw(box, s) {
    var fig = document.createElement("figure");
    fig.className = "chart";
    var cap = document.createElement("figcaption");
    var last = s.v.length ? s.v[s.v.length - 1] : null;
    cap.textContent = s.name + (s.unit ? " (" + s.unit + ")" : "") + (last === null ? "" : ": " + fmt(last));
    fig.appendChild(cap);
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": s.name, "class": "chart" }, fig);
    box.appendChild(fig);
    if (!s.t.length) return;
    var t0 = s.t[0], t1 = s.t[s.t.length - 1];
    var lo = Math.min.apply(null, s.v), hi = Math.max.apply(null, s.v);
    if (lo > 0 && lo < hi / 2) lo = 0;
    if (hi === lo) { hi = lo + 1; }
    if (t1 === t0) { t1 = t0 + 1; }
    var x = function (t) { return L + (t - t0) / (t1 - t0) * (W - L - R); };
    var y = function (v) { return T + (1 - (v - lo) / (hi - lo)) * (H - T - B); };
    for (var i = 0; i <= 4; i++) {
      var v = lo + (hi - lo) * i / 4;
      el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), "class": "grid" }, svg);
      el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "class": "axis" }, svg).textContent = fmt(v, hi - lo);
    }
    el("text", { x: L, y: H - 6, "class": "axis" }, svg).textContent = hhmm(t0);
    el("text", { x: W - R, y: H - 6, "text-anchor": "end", "class": "axis" }, svg).textContent = hhmm(t1);
    var d = "";
    for (var j = 0; j < s.t.length; j++) {
      d += (j ? "L" : "M") + x(s.t[j]).toFixed(1) + " " + y(s.v[j]).toFixed(1);
    }
    el("path", { d: d, "class": "line" }, svg);
    if (s.t.length === 1) el("circle", { cx: x(s.t[0]), cy: y(s.v[0]), r: 3, "class": "dot" }, svg);
  }

  var box = document.getElementById("charts");
  if (!box) return;
  var series = [];
  try { series = JSON.parse(box.getAttribute("data-series") || "[]") || []; } catch (e) { series = []; }
  series.forEach(function (s) { draw(box, s); });
  box.setAttribute("data-drawn", String(series.length));
})();
