// The TV's remote control: the arrow keys move the focus between the
// screen's buttons, links and fields (in page order), Enter presses the
// focused one (the browser's own behaviour), and the number keys type into
// the PIN field wherever the focus is.
(function () {
  "use strict";
  var sel = "a[href], button:not([disabled]), input:not([type=hidden]), select, summary";
  function items() {
    return Array.prototype.filter.call(document.querySelectorAll(sel), function (e) {
      return e.offsetParent !== null && !e.closest("[hidden]");
    });
  }
  document.addEventListener("keydown", function (ev) {
    var all = items(), i = all.indexOf(document.activeElement), step = 0;
    if (ev.key === "ArrowDown" || ev.key === "ArrowRight") { step = 1; }
    if (ev.key === "ArrowUp" || ev.key === "ArrowLeft") { step = -1; }
    var pin = document.querySelector("input[name=pin]");
    if (/^[0-9]$/.test(ev.key) && pin && document.activeElement !== pin) {
      ev.preventDefault();
      if (pin.value.length < (pin.maxLength > 0 ? pin.maxLength : 16)) { pin.value += ev.key; }
      return;
    }
    if (step === 0 || all.length === 0) { return; }
    if (document.activeElement && document.activeElement.tagName === "SELECT" && (ev.key === "ArrowUp" || ev.key === "ArrowDown")) { return; }
    ev.preventDefault();
    all[(i + step + all.length) % all.length].focus();
  });
})();
