// Podium dashboard: the little the pages do in the browser. Everything
// works without it; with it, times show in the reader's time zone, logs of
// running tasks follow as they are written, new keys get a copy button,
// the schedule form offers the reader's time zone, and the content list
// filters as one types.
(function () {
  "use strict";

  // Times: <time class="local" datetime="RFC 3339 UTC"> shows local time;
  // the UTC time stays in the title (on hover).
  function localTimes(root) {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
    } catch (e) { return; }
    root.querySelectorAll("time.local[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.textContent = fmt.format(d); }
    });
  }

  // Logs: <pre data-task="id" data-api="/__api__/v1" data-first="n">
  // long-polls the task and appends its new lines until it finishes.
  function follow(pre) {
    var id = pre.getAttribute("data-task"), api = pre.getAttribute("data-api");
    var first = parseInt(pre.getAttribute("data-first") || "0", 10);
    var state = pre.id === "follow-log" ? document.getElementById("follow-state") : null;
    var failures = 0;
    function poll() {
      fetch(api + "/tasks/" + encodeURIComponent(id) + "?first=" + first + "&wait=10", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (t) {
          failures = 0;
          var stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          (t.output || []).forEach(function (line) { pre.appendChild(document.createTextNode(line + "\n")); });
          first = t.last;
          if (stick) { pre.scrollTop = pre.scrollHeight; }
          if (t.finished) {
            pre.removeAttribute("data-task");
            if (state) {
              state.textContent = t.code === 0 ? "succeeded" : "failed (exit " + t.code + ")" + (t.error ? ": " + t.error : "");
              state.className = "tag " + (t.code === 0 ? "ok" : "fail");
            }
            pre.setAttribute("data-finished", t.code === 0 ? "ok" : "failed");
            return;
          }
          poll();
        })
        .catch(function () {
          failures++;
          if (failures > 5) { if (state) { state.textContent = "log unavailable: reload the page"; } return; }
          setTimeout(poll, 1000 * failures);
        });
    }
    poll();
  }

  // Copy buttons: <button data-copy="element id">.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        var el = document.getElementById(b.getAttribute("data-copy"));
        if (!el) { return; }
        var text = el.textContent, done = function () { b.textContent = "Copied"; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { select(el); });
        } else { select(el); try { document.execCommand("copy"); done(); } catch (e) { /* selected: copy by hand */ } }
      });
    });
  }
  function select(el) {
    var r = document.createRange(); r.selectNodeContents(el);
    var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
  }

  // The schedule form offers the reader's time zone when none is set.
  function defaultZone() {
    var tz;
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    document.querySelectorAll("input[data-default-tz]").forEach(function (i) { if (!i.value && tz) { i.value = tz; } });
  }

  // The content list: filter rows by the search box and the selects.
  function contentFilter() {
    var form = document.getElementById("content-filter"), table = document.getElementById("content-list");
    if (!form || !table) { return; }
    var q = form.querySelector("#q"), mode = form.querySelector("#mode"), access = form.querySelector("#access"), tag = form.querySelector("#tag");
    function apply() {
      var words = (q.value || "").toLowerCase().trim(), shown = 0;
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        var ok = (!words || tr.textContent.toLowerCase().indexOf(words) >= 0) &&
          (!mode.value || tr.getAttribute("data-mode") === mode.value) &&
          (!access.value || tr.getAttribute("data-access") === access.value) &&
          tr.hasAttribute("data-tagged");
        tr.hidden = !ok;
        if (ok) { shown++; }
      });
      var count = document.getElementById("shown");
      if (count) { count.textContent = shown; }
    }
    [q, mode, access].forEach(function (el) { el.addEventListener("input", apply); el.addEventListener("change", apply); });
    // Which rows have a tag is known to the server: a new tag reloads.
    if (tag) { tag.addEventListener("change", function () { form.submit(); }); }
    apply();
  }

  function start() {
    localTimes(document);
    document.querySelectorAll("pre[data-task]").forEach(follow);
    copyButtons();
    defaultZone();
    contentFilter();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
