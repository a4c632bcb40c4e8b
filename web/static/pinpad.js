// Optional PIN pad: makes the digit buttons of a .pinpad type into the form's
// input[name=pin], or, in a form with more PIN fields (input[data-pinpad], a
// new PIN and its confirmation at the counter), into the one last focused;
// a full field passes the pad on to the next empty one. Pages work without
// it (the PIN is typed into the field). The number keys (a keyboard's, or a
// TV remote's VK_0–VK_9, which browsers report as the same keys) type into
// the pad's field wherever the focus is, unless the focus is in a field of
// its own: one piece of code for every kind of terminal, so that a TV or a
// desk needs no pointer for the PIN. The script never stores, sends or logs
// the PIN; the form posts it as usual.
(function () {
  "use strict";
  function setup(pad) {
    // A pad is set up once: were the script run twice (loaded by a page as
    // well as by the layout), a second listener would type every digit
    // twice, and the card would block after three wrong PINs.
    if (pad.hasAttribute("data-pinpad-ready")) { return; }
    var form = pad.closest("form");
    var inputs = form ? form.querySelectorAll("input[name=pin], input[data-pinpad]") : [];
    if (!inputs.length) { return; }
    var input = inputs[0];
    Array.prototype.forEach.call(inputs, function (el) {
      el.addEventListener("focus", function () { input = el; });
    });
    pad.setAttribute("data-pinpad-ready", "");
    pad.hidden = false;
    function press(key) {
      var max = input.maxLength > 0 ? input.maxLength : 16;
      if (key === "clear") {
        input.value = "";
      } else if (key === "back") {
        input.value = input.value.slice(0, -1);
      } else if (key && input.value.length < max) {
        input.value += key;
      }
      input.dispatchEvent(new Event("input", { bubbles: true }));
      var i = Array.prototype.indexOf.call(inputs, input);
      if (input.value.length >= max && i + 1 < inputs.length && inputs[i + 1].value === "") {
        input = inputs[i + 1];
        input.focus();
      } else if (input.value.length >= max && i + 1 === inputs.length && document.activeElement !== input) {
        // The last field is full, typed from the pad or the number keys:
        // the form's button next, so that Enter (a remote's 決定) sends it.
        var ok = form.querySelector("button[type=submit]");
        if (ok) { ok.focus(); }
      }
    }
    pad.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b || !pad.contains(b)) { return; }
      ev.preventDefault();
      press(b.getAttribute("data-key"));
    });
    return press;
  }
  // keys types the number keys into the first pad of the page, when the
  // focus is not in a field (a field takes its own keys).
  // A PC keyboard names a number key in ev.key; a TV remote may send only
  // its VK_0…VK_9 code (48–57, as terminal/static/remote.js reads it too;
  // 96–105 on a keypad).
  function keys(press) {
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.altKey || ev.metaKey) { return; }
      var d = /^[0-9]$/.test(ev.key) ? ev.key : null, c = ev.keyCode;
      if (d === null && c >= 48 && c <= 57) { d = String(c - 48); }
      if (d === null && c >= 96 && c <= 105) { d = String(c - 96); }
      if (d === null) { return; }
      var a = document.activeElement;
      if (a && (a.tagName === "INPUT" || a.tagName === "TEXTAREA" || a.tagName === "SELECT")) { return; }
      ev.preventDefault();
      press(d);
    });
  }
  function setupAll() {
    var pads = document.querySelectorAll(".pinpad"), first = null;
    for (var i = 0; i < pads.length; i++) {
      var press = setup(pads[i]);
      if (press && !first) { first = press; }
    }
    if (first) { keys(first); }
  }
  // Deferred (as the layout loads it) or loaded late, the script runs after
  // the document is parsed and sets the pads up at once; loaded while the
  // page is still being parsed, it waits for the rest of the page.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupAll);
  } else {
    setupAll();
  }
})();
