// The claims ledger (chapters/26_claims_ledger.md, drawn by sgdsde.book.ledger.to_html): filters by
// verdict and notes section, a full-text search and sortable columns. Jupyter Book loads every
// script of _static on every page; this one does nothing on a page without a ledger.
// The filter state lives in the address (#verdict=wrong&section=§2&q=noise), so the counts above
// the table link to filtered views and a filtered view can be bookmarked or shared.
(function () {
  "use strict";

  function parseHash(hash) {
    var state = { verdict: "", section: "", q: "" };
    hash = (hash || "").replace(/^#/, "");
    if (hash && hash.indexOf("=") < 0) return null; // an ordinary anchor (#ledger-eq-7): no filter
    hash.split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv.length === 2 && kv[0] in state) state[kv[0]] = decodeURIComponent(kv[1].replace(/\+/g, " "));
    });
    return state;
  }

  function init() {
    var box = document.querySelector("div.ledger");
    if (!box) return;
    var table = box.querySelector("table.claims-ledger");
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var controls = box.querySelector(".ledger-controls");
    var fields = {};
    Array.prototype.forEach.call(controls.querySelectorAll("[data-key]"), function (el) {
      fields[el.getAttribute("data-key")] = el;
    });
    var shown = controls.querySelector(".ledger-shown");
    var text = rows.map(function (r) { return r.textContent.toLowerCase(); });
    rows.forEach(function (r, i) { r.setAttribute("data-order", i); });
    controls.hidden = false;

    function apply(state) {
      Object.keys(fields).forEach(function (k) { fields[k].value = state[k]; });
      var words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
      var n = 0;
      rows.forEach(function (r, i) {
        var ok = (!state.verdict || r.getAttribute("data-verdict") === state.verdict) &&
          (!state.section || r.getAttribute("data-section") === state.section) &&
          words.every(function (w) { return text[i].indexOf(w) >= 0; });
        r.hidden = !ok;
        if (ok) n += 1;
      });
      shown.textContent = n === rows.length ? "all " + n + " claims shown" : n + " of " + rows.length + " claims shown";
      box.setAttribute("data-shown", n);
    }

    function current() {
      return { verdict: fields.verdict.value, section: fields.section.value, q: fields.q.value.trim() };
    }

    function toHash(state) {
      var parts = [];
      Object.keys(state).forEach(function (k) {
        if (state[k]) parts.push(k + "=" + encodeURIComponent(state[k]));
      });
      return parts.length ? "#" + parts.join("&") : "";
    }

    function update() {
      var state = current();
      apply(state);
      history.replaceState(null, "", location.pathname + location.search + toHash(state));
    }

    Object.keys(fields).forEach(function (k) {
      fields[k].addEventListener(k === "q" ? "input" : "change", update);
    });
    window.addEventListener("hashchange", function () {
      var state = parseHash(location.hash);
      if (state) { apply(state); box.scrollIntoView(); }
    });
    // The counts above the table: "#" (all claims) clears the filters.
    Array.prototype.forEach.call(document.querySelectorAll("a.ledger-count"), function (a) {
      a.addEventListener("click", function (ev) {
        var state = parseHash(a.getAttribute("href"));
        if (!state) return;
        ev.preventDefault();
        apply(state);
        history.replaceState(null, "", location.pathname + location.search + toHash(state));
        box.scrollIntoView();
      });
    });

    // Sortable columns: a button in each header; a second click reverses the order.
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var kind = th.getAttribute("data-sort");
      if (!kind) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ledger-sort";
      button.textContent = th.textContent;
      button.title = "sort by " + th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var key = function (r) {
          if (kind === "notes") return +r.getAttribute("data-order");
          if (kind === "verdict") return +r.cells[col].getAttribute("data-value");
          return r.cells[col].textContent.trim();
        };
        var sorted = rows.slice().sort(function (a, b) {
          var x = key(a), y = key(b);
          var c = typeof x === "number" ? x - y : x.localeCompare(y, undefined, { numeric: true });
          if (c === 0) c = a.getAttribute("data-order") - b.getAttribute("data-order");
          return asc ? c : -c;
        });
        sorted.forEach(function (r) { tbody.appendChild(r); });
      });
    });

    apply(parseHash(location.hash) || { verdict: "", section: "", q: "" });
    box.setAttribute("data-ready", "true");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
