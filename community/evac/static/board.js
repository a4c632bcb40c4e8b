// The disaster office's board (docs/community-tv.md §5.6): follows the
// order's stream (server-sent events, data-events) and reloads the board
// at each change — an acknowledgement, a check-in or out, the lift — at
// most once a second, so a burst of check-ins costs one reload.
(function () {
  "use strict";
  var me = document.currentScript;
  var url = me && me.dataset.events;
  if (!url || !window.EventSource) { return; }
  var es = new EventSource(url), pending = false;
  function reload() {
    if (pending) { return; }
    pending = true;
    es.close();
    setTimeout(function () { location.reload(); }, 1000);
  }
  ["order", "lift", "ack", "checkin", "checkout"].forEach(function (k) { es.addEventListener(k, reload); });
})();
