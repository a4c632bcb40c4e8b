// Pushed overlays (docs/community-tv.md §7), loaded by the kit's layout on
// a screen that names its event stream (terminal.Pusher): the stream's
// events carry {"overlay": PATH}; the page at PATH is fetched and its
// .push-content shown over the screen, which goes inert, with the focus on
// the overlay's data-remote-focus element — so an order arrives without a
// reload, whatever the screen. remote.js's keys act inside the overlay
// while it is shown. An element marked data-push-close closes it.
// EventSource reconnects by itself and sends Last-Event-ID, so an event
// sent while it was away is replayed by the server.
(function () {
  "use strict";
  var me = document.currentScript;
  var url = me && me.dataset.events;
  if (!url || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  function close() {
    var o = document.getElementById("push-overlay");
    if (o) { o.remove(); }
    var main = document.getElementById("main");
    if (main) { main.removeAttribute("inert"); }
  }
  function show(ev) {
    var d;
    try { d = JSON.parse(ev.data); } catch (e) { return; }
    if (!d || !d.overlay) { return; }
    fetch(d.overlay, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html === null) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var content = doc.querySelector(".push-content");
      if (!content) { return; }
      close();
      var o = document.createElement("div");
      o.id = "push-overlay";
      o.className = "push-overlay";
      o.setAttribute("role", "alertdialog");
      o.setAttribute("aria-modal", "true");
      o.appendChild(document.importNode(content, true));
      var main = document.getElementById("main");
      if (main) { main.setAttribute("inert", ""); }
      document.body.appendChild(o);
      o.querySelectorAll("[data-push-close]").forEach(function (b) {
        b.addEventListener("click", function (e) { e.preventDefault(); close(); });
      });
      var f = o.querySelector("[data-remote-focus]") || o.querySelector("a[href], button");
      if (f) { f.focus(); }
    });
  }
  var es = new EventSource(url);
  es.addEventListener("push", show);
})();
