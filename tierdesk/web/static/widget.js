/* tierdesk help widget loader. Embed on any site:
 *   <script src="https://desk.example.com/static/widget.js" defer></script>
 * Adds a floating "Help" button (bottom right) that opens and closes an iframe of
 * https://desk.example.com/help/widget (the answer bot). Plain JS, no build step, and no
 * request other than that iframe. Optional attributes on the script tag:
 *   data-label="Aide"   the button text (default "Help")
 *   data-locale="it"    the help center language (default: the visitor's browser language)
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src || window.__tierdeskWidget) return;
  window.__tierdeskWidget = true;
  var origin = new URL(script.src, document.baseURI).origin;
  var label = script.getAttribute("data-label") || "Help";
  var locale = script.getAttribute("data-locale");
  var src = origin + "/help/widget" + (locale ? "?locale=" + encodeURIComponent(locale) : "");

  function setup() {
    var box = document.createElement("div");
    box.id = "tierdesk-widget";
    box.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483000;" +
      "display:flex;flex-direction:column;align-items:flex-end;gap:10px;font:15px/1.4 system-ui,sans-serif";

    var frame = null;
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-label", label);
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "tierdesk-widget-frame");
    button.style.cssText = "border:0;border-radius:999px;padding:12px 20px;background:#1f6feb;color:#fff;" +
      "font:inherit;font-weight:600;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)";
    button.addEventListener("focus", function () { button.style.outline = "3px solid #0b3d91"; });
    button.addEventListener("blur", function () { button.style.outline = ""; });

    function close() {
      if (!frame) return;
      frame.style.display = "none";
      button.setAttribute("aria-expanded", "false");
    }
    function open() {
      if (!frame) {
        frame = document.createElement("iframe");
        frame.id = "tierdesk-widget-frame";
        frame.title = label;
        frame.src = src;
        frame.style.cssText = "width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 100px));" +
          "border:1px solid #d0d7de;border-radius:12px;background:#fff;box-shadow:0 8px 30px rgba(0,0,0,.25)";
        box.insertBefore(frame, button);
      }
      frame.style.display = "block";
      button.setAttribute("aria-expanded", "true");
    }
    button.addEventListener("click", function () {
      if (button.getAttribute("aria-expanded") === "true") close(); else open();
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && button.getAttribute("aria-expanded") === "true") { close(); button.focus(); }
    });
    box.appendChild(button);
    document.body.appendChild(box);
  }

  if (document.body) setup(); else document.addEventListener("DOMContentLoaded", setup);
})();
