// Polls the batch's progress while it runs and reloads the page when it is
// done (the results table is rendered by the server). Without JavaScript the
// page's <noscript> meta refresh does the same.
(function () {
  "use strict";
  var box = document.getElementById("batch-progress");
  if (!box || box.dataset.status === "done") {
    return;
  }
  var url = box.dataset.statusUrl;
  function set(id, v) {
    var el = document.getElementById(id);
    if (el) { el.textContent = String(v); }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (b) {
        var p = document.getElementById("progress");
        p.max = b.total;
        p.value = b.done;
        set("done", b.done);
        set("total", b.total);
        set("percent", b.percent);
        set("errors", b.errors);
        if (b.status === "done") {
          window.location.reload();
          return;
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
