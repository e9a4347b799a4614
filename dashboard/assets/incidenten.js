// Incidenten page: export links with a progress line.
//
// A click on an export link first asks the server whether the export may start
// (`&check=1`: 204, or a 400/403 with a Dutch message that is shown next to the links), then
// lets the browser download the file itself (streamed to disk, never held in memory here) and
// polls /incidenten/export-status for the job id in the link until the export has finished.
// Each click gets a fresh job id. A link with `taak=1` (the XLSX export) is a background job:
// the request answers 202 at once, this script polls /jobs/<id> (queued, progress, done or the
// Dutch error) and then downloads /jobs/<id>/bestand; no server process waits meanwhile.
(function () {
  "use strict";

  function number(n) { return Number(n || 0).toLocaleString("nl-NL"); }

  function say(text, failed) {
    var status = document.getElementById("incidenten-export-status");
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("text-danger", !!failed);
  }

  function freshJob(link) {
    var url = new URL(link.href, window.location.href);
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID().replace(/-/g, "")
      : String(Date.now()) + String(Math.random()).slice(2, 12);
    url.searchParams.set("job", id);
    link.href = url.pathname + url.search;
    return url;
  }

  function poll(job, label) {
    var started = Date.now();
    var timer = window.setInterval(function () {
      fetch("/incidenten/export-status?job=" + encodeURIComponent(job), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) {
            if (Date.now() - started > 60000) { window.clearInterval(timer); }
            return;
          }
          if (s.error) { window.clearInterval(timer); say(label + " mislukt (" + s.error + ").", true); return; }
          if (s.finished) { window.clearInterval(timer); say(label + " klaar: " + number(s.done) + " rijen.", false); return; }
          var pct = s.total ? Math.floor(100 * s.done / s.total) : 0;
          say(label + ": " + number(s.done) + " van " + number(s.total) + " rijen (" + pct + "%)…", false);
        })
        .catch(function () { /* a missed poll is harmless; the next one catches up */ });
    }, 700);
  }

  function follow(job, label) {
    var timer = window.setInterval(function () {
      fetch("/jobs/" + encodeURIComponent(job), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.status === "failed" || (!s.status && s.error)) {
            window.clearInterval(timer); say(label + " mislukt: " + s.error, true); return;
          }
          if (s.status === "done") {
            window.clearInterval(timer);
            say(label + " klaar: " + number(s.result && s.result.rows) + " rijen.", false);
            window.location.assign("/jobs/" + encodeURIComponent(job) + "/bestand");
            return;
          }
          if (s.status === "queued") { say(label + ": in de wachtrij…", false); return; }
          var pct = s.total ? Math.floor(100 * s.done / s.total) : 0;
          say(label + ": bezig, " + number(s.done) + " van " + number(s.total) + " rijen (" + pct + "%)…", false);
        })
        .catch(function () { /* a missed poll is harmless; the next one catches up */ });
    }, 700);
  }

  function background(url, label) {
    fetch(url.pathname + url.search, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 202) { return r.json().then(function (j) { say(label + ": in de wachtrij…", false); follow(j.job, label); }); }
        return r.text().then(function (text) { say(text || ("Export niet mogelijk (" + r.status + ")."), true); });
      })
      .catch(function () { say("De server is niet bereikbaar.", true); });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.incidenten-export") : null;
    if (!link || link.getAttribute("href") === "#") { return; }
    event.preventDefault();
    var url = new URL(link.href, window.location.href);
    var job = url.searchParams.get("job");
    var label = link.textContent.trim();
    var check = new URL(url.href);
    check.searchParams.set("check", "1");
    say(label + " wordt voorbereid…", false);
    fetch(check.pathname + check.search, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 204 && url.searchParams.get("taak")) {
          background(url, label);
          freshJob(link);
          return null;
        }
        if (r.status === 204) {
          window.location.assign(url.pathname + url.search);  // attachment: the page stays
          poll(job, label);
          freshJob(link);
          return null;
        }
        return r.text().then(function (text) { say(text || ("Export niet mogelijk (" + r.status + ")."), true); });
      })
      .catch(function () { say("De server is niet bereikbaar.", true); });
  });
})();
