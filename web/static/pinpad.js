// Optional PIN pad: makes the digit buttons of a .pinpad type into the form's
// input[name=pin]. Pages work without it (the PIN is typed into the field).
// The script never stores, sends or logs the PIN; the form posts it as usual.
(function () {
  "use strict";
  function setup(pad) {
    var form = pad.closest("form");
    var input = form && form.querySelector("input[name=pin]");
    if (!input) { return; }
    pad.hidden = false;
    pad.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b || !pad.contains(b)) { return; }
      ev.preventDefault();
      var key = b.getAttribute("data-key");
      var max = input.maxLength > 0 ? input.maxLength : 16;
      if (key === "clear") {
        input.value = "";
      } else if (key === "back") {
        input.value = input.value.slice(0, -1);
      } else if (key && input.value.length < max) {
        input.value += key;
      }
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var pads = document.querySelectorAll(".pinpad");
    for (var i = 0; i < pads.length; i++) { setup(pads[i]); }
  });
})();
