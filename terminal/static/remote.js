// The TV's remote control (docs/community-tv.md §4), loaded by the kit's
// layout on a TV screen only. A TV browser sends the remote's keys as the
// VK_* key codes (HbbTV/OIPF values, or the browser's own VK_* globals where
// it defines them); a PC keyboard stands in with the keys beside them:
//
//   up/down/left/right  VK_UP … VK_RIGHT          arrow keys
//   press               VK_ENTER                  Enter
//   back                VK_BACK (461, 8)          Escape; Backspace outside a field
//   digits              VK_0 … VK_9               0–9
//   colour keys         VK_RED, VK_GREEN,         R, G, Y, B
//                       VK_YELLOW, VK_BLUE
//
// The arrows move the focus between the screen's links, buttons and fields
// in page order (up/down inside a select change its choice); Enter presses
// the focused one (the browser's own behaviour; on a select it sends the
// select's form). Back presses the element marked data-remote="back" (a space-separated list: "back red") (or
// goes back in the history), a colour key the one marked with its colour,
// and digit n the menu item marked data-remote-num="n". On a screen with
// the PIN pad the digits are the pad's (web/static/pinpad.js, the same for
// every terminal). A focus is always shown: the page's data-remote-focus or
// autofocus element, or its first item outside the top bar.
(function () {
  "use strict";
  var sel = "a[href], button:not([disabled]), input:not([type=hidden]), select, summary";
  function vk(name, code) { return typeof window[name] === "number" ? window[name] : code; }
  var byCode = {};
  byCode[vk("VK_UP", 38)] = "up";
  byCode[vk("VK_DOWN", 40)] = "down";
  byCode[vk("VK_LEFT", 37)] = "left";
  byCode[vk("VK_RIGHT", 39)] = "right";
  byCode[vk("VK_BACK", 461)] = "back";
  byCode[vk("VK_RED", 403)] = "red";
  byCode[vk("VK_GREEN", 404)] = "green";
  byCode[vk("VK_YELLOW", 405)] = "yellow";
  byCode[vk("VK_BLUE", 406)] = "blue";
  var byKey = {
    ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right",
    Escape: "back", GoBack: "back", BrowserBack: "back",
    r: "red", R: "red", g: "green", G: "green", y: "yellow", Y: "yellow", b: "blue", B: "blue",
    ColorF0Red: "red", ColorF1Green: "green", ColorF2Yellow: "yellow", ColorF3Blue: "blue"
  };
  // root is where the keys act: a pushed overlay (push.js) while it is
  // shown, else the page.
  function root() { return document.getElementById("push-overlay") || document; }
  function items() {
    return Array.prototype.filter.call(root().querySelectorAll(sel), function (e) {
      return e.offsetParent !== null && !e.closest("[hidden]") && !e.closest("[inert]");
    });
  }
  // digit is the number key pressed: a PC keyboard names it in ev.key, a
  // TV remote may send only its VK_0…VK_9 code (48–57; 96–105 on a keypad).
  function digit(ev) {
    if (/^[0-9]$/.test(ev.key)) { return ev.key; }
    var c = ev.keyCode;
    if (c >= vk("VK_0", 48) && c <= vk("VK_0", 48) + 9) { return String(c - vk("VK_0", 48)); }
    if (c >= 96 && c <= 105) { return String(c - 96); }
    return null;
  }
  function inField(e) {
    return e && (e.tagName === "INPUT" || e.tagName === "TEXTAREA");
  }
  function action(ev) {
    if (ev.ctrlKey || ev.altKey || ev.metaKey) { return null; }
    if (ev.key === "Backspace") { return inField(document.activeElement) ? null : "back"; }
    if (ev.key === "Enter") { return "enter"; }
    if (digit(ev) !== null) { return "digit"; }
    return byKey[ev.key] || byCode[ev.keyCode] || null;
  }
  function press(e) {
    if (e) { e.focus(); e.click(); }
    return !!e;
  }
  function move(step) {
    var all = items();
    if (all.length === 0) { return; }
    var i = all.indexOf(document.activeElement);
    if (i < 0) { i = step > 0 ? -1 : 0; }
    all[(i + step + all.length) % all.length].focus();
  }
  document.addEventListener("keydown", function (ev) {
    var a = action(ev), f = document.activeElement;
    switch (a) {
    case null:
      return;
    case "enter":
      if (f && f.tagName === "SELECT" && f.form) {
        ev.preventDefault();
        f.form.requestSubmit();
      }
      return;
    case "digit":
      // The PIN pad's own (pinpad.js); elsewhere a menu's numbered item.
      if (document.querySelector("input[name=pin]")) { return; }
      if (press(root().querySelector('[data-remote-num="' + digit(ev) + '"]'))) { ev.preventDefault(); }
      return;
    case "back":
      ev.preventDefault();
      if (!press(root().querySelector('[data-remote~="back"]'))) { history.back(); }
      return;
    case "red": case "green": case "yellow": case "blue":
      if (press(root().querySelector('[data-remote~="' + a + '"]'))) { ev.preventDefault(); }
      return;
    }
    if (f && f.tagName === "SELECT" && (a === "up" || a === "down")) { return; }
    ev.preventDefault();
    move(a === "down" || a === "right" ? 1 : -1);
  });
  function start() {
    if (document.activeElement && document.activeElement !== document.body && document.activeElement.id !== "main") { return; }
    var first = document.querySelector("[data-remote-focus]") || document.querySelector("[autofocus]");
    if (!first) {
      first = items().filter(function (e) { return !e.closest(".term-top"); })[0];
    }
    if (first) { first.focus(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
