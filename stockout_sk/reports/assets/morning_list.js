/* The morning list: filters, search, sorting and lazy rendering over the data inlined in the
   page (<script type="application/json" id="morning-data">, see stockout_sk/scoring/page.py).
   No network, no library. Rows are arrays; C names their positions. Only the rows in view are
   turned into table rows (PAGE at a time, more as the reader scrolls), so a 50,000-row list
   opens about as fast as a short one. */
(function () {
  "use strict";
  var C = {branch: 0, item: 1, date: 2, prob: 3, risk: 4, onHand: 5, reserved: 6, safety: 7,
           cover: 8, headroom: 9, days: 10, shortfall: 11, stale: 12, reasons: 13};
  var PAGE = 100;
  var data = JSON.parse(document.getElementById("morning-data").textContent);
  var rows = data.rows, branches = data.branches, items = data.items, reasons = data.reasons;
  var state = {branch: "", decision: "risk", min: 0, q: "", sort: "rank", asc: true};
  var view = [], shown = 0;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function fmt(x, digits) {
    if (x === null || x === undefined) { return "—"; }
    return x.toLocaleString("en-US", {maximumFractionDigits: digits || 0,
                                      minimumFractionDigits: digits || 0});
  }
  function pct(p) { return (p * 100).toFixed(0) + "%"; }

  // ---- state <-> location hash (a planner can bookmark "their" branch) ----
  function readHash() {
    var h = window.location.hash.replace(/^#/, "");
    h.split("&").forEach(function (part) {
      var kv = part.split("="), key = decodeURIComponent(kv[0] || "");
      var value = decodeURIComponent((kv[1] || "").replace(/\+/g, " "));
      if (key === "branch") { state.branch = value; }
      if (key === "decision" && ["risk", "all", "ok"].indexOf(value) >= 0) { state.decision = value; }
      if (key === "min") { state.min = Math.max(0, Math.min(100, parseFloat(value) || 0)); }
      if (key === "q") { state.q = value; }
    });
  }
  function writeHash() {
    var parts = [];
    if (state.branch) { parts.push("branch=" + encodeURIComponent(state.branch)); }
    if (state.decision !== "risk") { parts.push("decision=" + state.decision); }
    if (state.min > 0) { parts.push("min=" + state.min); }
    if (state.q) { parts.push("q=" + encodeURIComponent(state.q)); }
    if (window.history && window.history.replaceState) {
      var url = parts.length ? "#" + parts.join("&") : window.location.pathname;
      window.history.replaceState(null, "", url);
    }
  }

  // ---- filtering and sorting ----
  // Search: every word must appear in the row's branch (ID, name) or item (code, names). The
  // words are matched once against the branches and the items, not against every row.
  var branchText = branches.map(function (b) { return (b[0] + " " + b[1]).toLowerCase(); });
  var itemText = items.map(function (it) { return (it[0] + " " + it[1] + " " + it[2]).toLowerCase(); });
  function matcher(q) {
    var words = q.split(/\s+/).filter(Boolean);
    if (!words.length) { return null; }
    var inBranch = words.map(function (w) { return branchText.map(function (t) { return t.indexOf(w) >= 0; }); });
    var inItem = words.map(function (w) { return itemText.map(function (t) { return t.indexOf(w) >= 0; }); });
    return function (r) {
      for (var k = 0; k < words.length; k++) {
        if (!inBranch[k][r[C.branch]] && !inItem[k][r[C.item]]) { return false; }
      }
      return true;
    };
  }
  var SORT_KEYS = {
    rank: function (r, i) { return i; },
    branch: function (r) { return branches[r[C.branch]][0]; },
    item: function (r) { return items[r[C.item]][0]; },
    prob: function (r) { return r[C.prob]; },
    days: function (r) { return r[C.days] === null ? Infinity : r[C.days]; },
    shortfall: function (r) { return r[C.shortfall] === null ? -Infinity : r[C.shortfall]; },
    cover: function (r) { return r[C.cover] === null ? Infinity : r[C.cover]; },
    headroom: function (r) { return r[C.headroom]; },
    onHand: function (r) { return r[C.onHand]; }
  };
  function compute() {
    var branchIndex = -1, match = matcher(state.q.trim().toLowerCase()), minP = state.min / 100;
    if (state.branch) {
      for (var b = 0; b < branches.length; b++) {
        if (branches[b][0] === state.branch) { branchIndex = b; }
      }
    }
    view = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (state.branch && r[C.branch] !== branchIndex) { continue; }
      if (state.decision === "risk" && !r[C.risk]) { continue; }
      if (state.decision === "ok" && r[C.risk]) { continue; }
      if (r[C.prob] < minP) { continue; }
      if (match && !match(r)) { continue; }
      view.push(i);
    }
    var key = SORT_KEYS[state.sort] || SORT_KEYS.rank, sign = state.asc ? 1 : -1;
    if (state.sort !== "rank" || !state.asc) {
      var keyed = view.map(function (i) { return [key(rows[i], i), i]; });
      keyed.sort(function (a, b) {
        var x = a[0], y = b[0], c;
        if (typeof x === "string") { c = x.localeCompare(y); } else { c = x < y ? -1 : x > y ? 1 : 0; }
        return c !== 0 ? sign * c : a[1] - b[1];
      });
      view = keyed.map(function (k) { return k[1]; });
    }
  }

  // ---- rendering ----
  // Rows are built as HTML text, every value escaped: several times faster than one
  // createElement per cell, and a name full of markup still shows as text.
  var ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
  function esc(text) { return String(text).replace(/[&<>"']/g, function (c) { return ESCAPES[c]; }); }
  function daysCell(r) {
    if (r[C.days] === null) {
      return r[C.shortfall] === null ? "—" : "not at current sales";
    }
    if (r[C.days] === 0) { return "already below"; }
    return fmt(r[C.days]) + (r[C.days] === 1 ? " day" : " days");
  }
  function rowHtml(i) {
    var r = rows[i], b = branches[r[C.branch]], it = items[r[C.item]];
    var title = data.dates.length > 1 ? ' title="as of ' + esc(data.dates[r[C.date]]) + '"' : "";
    var item = '<span class="id">' + esc(it[0]) + "</span>";
    if (it[1]) { item += '<bdi class="name" dir="auto">' + esc(it[1]) + "</bdi>"; }
    if (it[2] && it[2] !== it[1]) {
      item += '<bdi class="muted arabic" dir="rtl" lang="ar">' + esc(it[2]) + "</bdi>";
    }
    var why = '<ul class="reasons">' + r[C.reasons].map(function (k) {
      return "<li>" + esc(reasons[k]) + "</li>";
    }).join("") + "</ul>";
    if (r[C.stale] > 0) {
      why += '<div class="stale">history ' + r[C.stale] + " day(s) older than this row</div>";
    }
    return '<tr class="' + (r[C.risk] ? "risk" : "") + '">' +
      '<td class="num"' + title + ">" + (i + 1) + "</td>" +
      '<td><span class="id">' + esc(b[0]) + "</span>" +
      (b[1] ? '<bdi class="muted">' + esc(b[1]) + "</bdi>" : "") + "</td>" +
      "<td>" + item + "</td>" +
      '<td class="num prob">' + pct(r[C.prob]) + "</td>" +
      "<td>" + (r[C.risk] ? "at risk" : "ok") + "</td>" +
      '<td class="num">' + daysCell(r) + "</td>" +
      '<td class="num">' + (r[C.shortfall] === null ? "—" : fmt(r[C.shortfall])) + "</td>" +
      '<td class="num">' + (r[C.cover] === null ? "—" : fmt(r[C.cover], 1)) + "</td>" +
      '<td class="num">' + fmt(r[C.headroom]) + "</td>" +
      '<td class="num">' + fmt(r[C.onHand]) + " / " + fmt(r[C.reserved]) + " / " +
      fmt(r[C.safety]) + "</td>" +
      "<td>" + why + "</td></tr>";
  }
  function renderMore() {
    var end = Math.min(view.length, shown + PAGE), html = [];
    for (var k = shown; k < end; k++) { html.push(rowHtml(view[k])); }
    $("rows").insertAdjacentHTML("beforeend", html.join(""));
    shown = end;
    $("shown").textContent = view.length
      ? "Showing " + fmt(shown) + " of " + fmt(view.length) + " matching row(s)"
      : "No row matches these filters.";
    $("more").hidden = shown >= view.length;
  }
  function render() {
    compute();
    $("rows").textContent = "";
    shown = 0;
    renderMore();
    document.querySelectorAll("th[data-sort]").forEach(function (th) {
      var on = th.getAttribute("data-sort") === state.sort;
      th.classList.toggle("asc", on && state.asc);
      th.classList.toggle("desc", on && !state.asc);
      th.setAttribute("aria-sort", on ? (state.asc ? "ascending" : "descending") : "none");
    });
    writeHash();
  }

  // ---- the branch index and the unscored list ----
  function renderBranches() {
    var counts = branches.map(function () { return {rows: 0, risk: 0}; });
    rows.forEach(function (r) { counts[r[C.branch]].rows++; if (r[C.risk]) { counts[r[C.branch]].risk++; } });
    var missing = {};
    data.unscored.forEach(function (u) { missing[u[0]] = (missing[u[0]] || 0) + u[6]; });
    var select = $("branch"), body = $("branch-rows");
    branches.forEach(function (b, k) {
      var label = b[0] + (b[1] ? " — " + b[1] : "") + " (" + counts[k].risk + " at risk)";
      var option = el("option", null, label);
      option.value = b[0];
      select.appendChild(option);
      var tr = el("tr");
      var cell = el("td");
      var button = el("button", "link", b[0]);
      button.type = "button";
      button.addEventListener("click", function () {
        state.branch = b[0]; select.value = b[0]; render();
        $("list").scrollIntoView();
      });
      cell.appendChild(button);
      tr.appendChild(cell);
      tr.appendChild(el("td", null, b[1]));
      tr.appendChild(el("td", "num", fmt(counts[k].risk)));
      tr.appendChild(el("td", "num", fmt(counts[k].rows)));
      tr.appendChild(el("td", "num", fmt(missing[b[0]] || 0)));
      body.appendChild(tr);
    });
  }
  function renderUnscored() {
    var body = $("unscored-rows"), limit = 1000;
    data.unscored.slice(0, limit).forEach(function (u) {
      var tr = el("tr");
      tr.appendChild(el("td", null, u[0] || "—"));
      var item = el("td");
      item.appendChild(el("span", "id", u[1] || "—"));
      if (u[2]) { var name = el("bdi", "name", u[2]); name.dir = "auto"; item.appendChild(name); }
      tr.appendChild(item);
      tr.appendChild(el("td", null, u[3] + (u[6] > 1 ? " ×" + u[6] : "")));
      tr.appendChild(el("td", null, u[4]));
      body.appendChild(tr);
    });
    if (data.unscored.length > limit) {
      $("unscored-more").textContent = "… and " + fmt(data.unscored.length - limit) +
        " more in the unscored CSV.";
    }
  }

  // ---- wiring ----
  readHash();
  renderBranches();
  renderUnscored();
  var select = $("branch"), decision = $("decision"), minimum = $("min"), search = $("search");
  if (state.branch && !branches.some(function (b) { return b[0] === state.branch; })) { state.branch = ""; }
  select.value = state.branch; decision.value = state.decision; minimum.value = state.min; search.value = state.q;
  select.addEventListener("change", function () { state.branch = select.value; render(); });
  decision.addEventListener("change", function () { state.decision = decision.value; render(); });
  minimum.addEventListener("input", function () {
    state.min = Math.max(0, Math.min(100, parseFloat(minimum.value) || 0)); render();
  });
  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = search.value; render(); }, 120);
  });
  search.addEventListener("change", function () {  // Enter, or leaving the box: at once
    clearTimeout(timer);
    if (state.q !== search.value) { state.q = search.value; render(); }
  });
  $("reset").addEventListener("click", function () {
    state = {branch: "", decision: "risk", min: 0, q: "", sort: "rank", asc: true};
    select.value = ""; decision.value = "risk"; minimum.value = 0; search.value = "";
    render();
  });
  $("more").addEventListener("click", renderMore);
  // A first click sorts the way a planner reads it: names A→Z, the fewest days and the least
  // stock first, the highest probability and the largest shortfall first.
  var FIRST_ASCENDING = ["rank", "branch", "item", "days", "cover", "headroom", "onHand"];
  document.querySelectorAll("th[data-sort]").forEach(function (th) {
    th.tabIndex = 0;
    function sort() {
      var key = th.getAttribute("data-sort");
      state.asc = state.sort === key ? !state.asc : FIRST_ASCENDING.indexOf(key) >= 0;
      state.sort = key;
      render();
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
  });
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (entries[0].isIntersecting && shown < view.length) { renderMore(); }
    }, {rootMargin: "400px"}).observe($("more-sentinel"));
  }
  render();
  // When the list is on screen, in ms since navigation start (benchmarks/bench_morning_list.py).
  document.body.setAttribute("data-ready-ms", String(Math.round(window.performance.now())));
  document.body.setAttribute("data-ready", "true");
})();
