// Presentation mode (/presentatie): ArrowRight / PageDown / space go to the next slide,
// ArrowLeft / PageUp to the previous one (by clicking the on-screen buttons, so the Dash
// callback does the work), "f" toggles full screen.
document.addEventListener("keydown", function (event) {
  if (!document.querySelector(".presentation-mode")) { return; }
  var target = event.target;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
  if (event.altKey || event.ctrlKey || event.metaKey) { return; }
  var id = null;
  if (event.key === "ArrowRight" || event.key === "PageDown" || event.key === " ") { id = "pres-next"; }
  else if (event.key === "ArrowLeft" || event.key === "PageUp") { id = "pres-prev"; }
  else if (event.key === "f" || event.key === "F") {
    if (document.fullscreenElement) { document.exitFullscreen(); }
    else if (document.documentElement.requestFullscreen) { document.documentElement.requestFullscreen().catch(function () {}); }
    return;
  }
  if (!id) { return; }
  var button = document.getElementById(id);
  if (button) { event.preventDefault(); button.click(); }
});
