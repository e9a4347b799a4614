/* Dutch texts that components put on the page themselves, with no prop to set them (see
 * layouts/controls.py for the ones that have one):
 * - Leaflet's zoom buttons ("Zoom in"/"Zoom out": their title and aria-label), for every map;
 * - the date picker of dash-core-components: its month-navigation and clear buttons carry fixed
 *   English aria-labels. Its month and day names come from date-fns' Dutch locale
 *   (date-fns-locale-nl.js); Plotly's texts from plotly-locale-nl.js. */
(function () {
  "use strict";
  if (window.L && window.L.Control && window.L.Control.Zoom) {
    // Read when a map makes its zoom control (after this file: the maps render later).
    window.L.Control.Zoom.prototype.options.zoomInTitle = "Inzoomen";
    window.L.Control.Zoom.prototype.options.zoomOutTitle = "Uitzoomen";
  }

  var LABELS = {
    "Clear date": "Datum wissen",
    "Clear Dates": "Datums wissen",
    "Previous month": "Vorige maand",
    "Next month": "Volgende maand",
    "Close calendar": "Kalender sluiten",
    "Decrease value": "Lager",
    "Increase value": "Hoger"
  };
  // The date field's own aria-label repeats its placeholder ("dd-mm-jjjj") and would hide the
  // field's label from screen readers: name it after its <label> instead.
  function nameDateFields(root) {
    var fields = root.querySelectorAll("input.dash-datepicker-input[id]");
    for (var i = 0; i < fields.length; i++) {
      var label = document.querySelector('label[for="' + fields[i].id + '"]');
      var name = label && label.textContent.trim();
      if (name && fields[i].getAttribute("aria-label") === fields[i].placeholder) {
        fields[i].setAttribute("aria-label", name + " (" + fields[i].placeholder + ")");
      }
    }
  }
  function translate(root) {
    if (!root.querySelectorAll) { return; }
    var found = root.querySelectorAll("[aria-label]");
    for (var i = 0; i < found.length; i++) {
      var dutch = LABELS[found[i].getAttribute("aria-label")];
      if (dutch) { found[i].setAttribute("aria-label", dutch); }
    }
    nameDateFields(root);
  }
  function watch() {
    translate(document.body);
    new MutationObserver(function (changes) {
      for (var i = 0; i < changes.length; i++) {
        var change = changes[i];
        if (change.type === "attributes") {
          translate(change.target.parentNode || document.body);
        } else {
          for (var j = 0; j < change.addedNodes.length; j++) {
            var node = change.addedNodes[j];
            if (node.nodeType === 1) {
              var dutch = node.hasAttribute("aria-label") && LABELS[node.getAttribute("aria-label")];
              if (dutch) { node.setAttribute("aria-label", dutch); }
              translate(node);
            }
          }
        }
      }
    }).observe(document.body, {childList: true, subtree: true, attributes: true,
                               attributeFilter: ["aria-label"]});
  }
  if (document.body) { watch(); } else { document.addEventListener("DOMContentLoaded", watch); }

  // A date typed into a date field counts when the field is left, however it is left (the
  // picker itself takes it only on Enter or Tab; a click elsewhere would leave the typed date
  // on screen but not in use).
  document.addEventListener("focusout", function (event) {
    var field = event.target;
    if (field && field.matches && field.matches("input.dash-datepicker-input")) {
      field.dispatchEvent(new KeyboardEvent("keydown", {key: "Tab", bubbles: true}));
    }
  }, true);
})();
