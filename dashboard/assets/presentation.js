// Presentation mode (/presentatie): ArrowRight / PageDown / space go to the next slide,
// ArrowLeft / PageUp to the previous one (by clicking the on-screen buttons, so the Dash
// callback does the work), "f" or the "Volledig scherm" button toggles full screen (the
// browser's Fullscreen API; Esc leaves it too). Which label the button shows follows
// :fullscreen in assets/driehoek.css, so nothing here changes what Dash rendered.
function vbToggleFullscreen() {
  if (document.fullscreenElement) {
    if (document.exitFullscreen) { document.exitFullscreen().catch(function () {}); }
  } else if (document.documentElement.requestFullscreen) {
    document.documentElement.requestFullscreen().catch(function () {});
  }
}

document.addEventListener("click", function (event) {
  var button = event.target && event.target.closest ? event.target.closest("#pres-fullscreen") : null;
  if (button) { vbToggleFullscreen(); }
});

document.addEventListener("fullscreenchange", function () {
  var button = document.getElementById("pres-fullscreen");
  if (button) { button.setAttribute("aria-pressed", document.fullscreenElement ? "true" : "false"); }
});

document.addEventListener("keydown", function (event) {
  if (!document.querySelector(".presentation-mode")) { return; }
  var target = event.target;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
  if (event.altKey || event.ctrlKey || event.metaKey) { return; }
  var id = null;
  if (event.key === "ArrowRight" || event.key === "PageDown" || event.key === " ") { id = "pres-next"; }
  else if (event.key === "ArrowLeft" || event.key === "PageUp") { id = "pres-prev"; }
  else if (event.key === "f" || event.key === "F") { vbToggleFullscreen(); return; }
  if (!id) { return; }
  var button = document.getElementById(id);
  if (button) { event.preventDefault(); button.click(); }
});
