/* Choropleth styling for the Kaart page (dash-leaflet functional props, see layouts/kaart.py).
 * The callbacks send values, class breaks, colours and tooltip texts into the
 * `kaart-values` store; `vb.applyValues` (a clientside callback) keeps them in `vb.hideout` and
 * restyles the drawn areas in place. (Setting the GeoJSON `hideout` prop instead makes Dash and
 * dash-leaflet rebuild a layer of 13,000 buurten, which took 15-20 s.) The functions below only
 * classify and draw. Areas without a value (unknown) are grey with a dashed outline, never the
 * colour of zero. */
(function () {
  "use strict";
  var vb = window.vb = window.vb || {};
  vb.hideout = {};
  vb.layers = [];  // the drawn area layers (registered by bindTooltip)

  // Layers of more areas than this are drawn on one canvas (Leaflet's canvas renderer) instead
  // of one SVG path per area: Chromium took 2.2 s to lay out and paint the 13,594 paths of the
  // national buurt layer. Canvas areas are no DOM elements, so they cannot be tab stops: a
  // layer that small keeps its SVG paths (and keyboard access, see `keyboard`); on a larger one
  // the search field leads to an area inside its gemeente, drawn as SVG again.
  vb.CANVAS_ABOVE = vb.CANVAS_ABOVE || 1500;
  vb.batch = 0;  // features of the GeoJSON being added (counted by the addData wrapper)

  // dash-leaflet hands a whole FeatureCollection to L.GeoJSON.addData, which calls
  // onEachFeature (`vb.bindTooltip`) per area before adding it: remember the collection's size
  // so each area can be given its renderer before it is drawn.
  function countBatches() {
    var proto = window.L && window.L.GeoJSON && window.L.GeoJSON.prototype;
    if (!proto) { return false; }
    if (proto.vbCounted) { return true; }
    var addData = proto.addData;
    proto.addData = function (geojson) {
      var features = geojson && (Array.isArray(geojson) ? geojson : geojson.features);
      if (!features || vb.batch) { return addData.call(this, geojson); }
      vb.batch = features.length;
      vb.batchId = (vb.batchId || 0) + 1;
      try { return addData.call(this, geojson); } finally { vb.batch = 0; }
    };
    proto.vbCounted = true;
    return true;
  }
  if (!countBatches()) { document.addEventListener("DOMContentLoaded", countBatches); }

  // Says under the map when a layer is drawn on canvas, and how to reach an area by keyboard.
  vb.canvas = false;  // whether the areas drawn last are on canvas
  function announce(large) {
    vb.canvas = large;
    var note = document.getElementById("kaart-canvas-note");
    if (!note) { return; }
    note.textContent = large
      ? "Deze laag telt " + vb.batch.toLocaleString("nl-NL") + " gebieden en is als één " +
        "afbeelding getekend. Met het toetsenbord opent u een gebied via het zoekveld of de tabel."
      : "";
  }

  // An area on canvas is hit by its fill only. Leaflet also counts half its outline's width
  // around it, and the hovered area (drawn on top, outline 3 px) kept its tooltip 1.5 px into
  // its neighbour: near a border a person read the neighbour's figure.
  function fillOnly() { return 0; }

  // One canvas per map, shared by the areas of large layers.
  function canvasOf(map) {
    if (!map._vbCanvas) { map._vbCanvas = window.L.canvas({padding: 0.5}); }
    return map._vbCanvas;
  }

  function codeOf(feature) {
    return feature.id !== undefined ? feature.id : (feature.properties || {}).code;
  }

  // Class of a value: how many breaks lie below it, a value equal to break j counting as
  // above it when up[j] (exactly as callbacks/kaart_values.py Classes.index).
  vb.classify = function (value, breaks, up) {
    var n = 0;
    for (var j = 0; j < breaks.length; j++) {
      if (value > breaks[j] || (up && up[j] && value === breaks[j])) { n++; }
    }
    return n;
  };

  vb.choroplethStyle = function (feature, context) {
    var h = (context && context.hideout && context.hideout.values) ? context.hideout : vb.hideout;
    var code = codeOf(feature);
    // The class names the area on its SVG path (set when the path is created).
    // (dashArray null: setStyle merges, and an area first drawn without a value, dashed,
    // must lose the dashes once it has one)
    var style = {weight: 1, color: "#ffffff", opacity: 1, fillOpacity: 0.85, dashArray: null,
                 className: "vb-area vb-area-" + code};
    var value = h.values ? h.values[code] : undefined;
    if (value === undefined || value === null) {
      style.fillColor = h.unknown || "#d9d9d9";
      style.color = "#6c757d";
      style.dashArray = "4 3";
      return vb.marked(code, style);
    }
    style.fillColor = h.colors[Math.min(vb.classify(value, h.breaks || [], h.up || []), h.colors.length - 1)];
    return vb.marked(code, style);
  };

  // The area the search led to: a thick dark outline (on top of the class colour).
  vb.highlight = null;
  vb.marked = function (code, style) {
    if (vb.highlight !== null && code === vb.highlight) {
      style.weight = 4;
      style.color = "#000000";
      style.dashArray = null;
    }
    return style;
  };

  function zoomTo(layer) {
    if (!layer._map || !layer.getBounds) { return; }
    layer.bringToFront();
    layer._map.fitBounds(layer.getBounds(), {maxZoom: 16, padding: [40, 40]});
  }

  // Called with the `kaart-markeer` store: restyle, and zoom to the area now when it is drawn,
  // or as soon as it is (bindTooltip's "add" handler, after the layer's own fit to its data).
  vb.setHighlight = function (code) {
    vb.highlight = code || null;
    vb.layers = vb.layers.filter(function (layer) { return layer._map; });
    var target = null;
    vb.layers.forEach(function (layer) {
      layer.setStyle(vb.choroplethStyle(layer.feature));
      if (code && codeOf(layer.feature) === code) { target = layer; }
    });
    vb.pendingZoom = target ? null : vb.highlight;
    if (target) { zoomTo(target); }
    return window.dash_clientside.no_update;
  };

  // What a screen reader announces for a focusable area (and the tooltip shows).
  function describe(code, name) {
    var tip = (vb.hideout.tips || {})[code];
    var text = (tip ? tip[0] : name) + " (" + code + ")";
    if (tip) { text += ", " + (vb.hideout.label || "") + ": " + tip[1]; }
    return text;
  }

  // Keyboard: every area is a tab stop; Enter or Space opens it exactly as a click does
  // (the click event goes to the GeoJSON layer, whose clickData drives navigation).
  function keyboard(layer, code, name) {
    var el = layer.getElement && layer.getElement();
    if (!el || el.getAttribute("tabindex") === "0") { return; }
    el.setAttribute("tabindex", "0");
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", describe(code, name));
    el.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" && event.key !== " ") { return; }
      event.preventDefault();
      var centre = layer.getBounds().getCenter();
      layer.fire("click", {latlng: centre, originalEvent: event}, true);
    });
    el.addEventListener("focus", function () {
      el.setAttribute("aria-label", describe(code, name));
      layer.openTooltip(layer.getBounds().getCenter());
    });
    el.addEventListener("blur", function () { layer.closeTooltip(); });
  }

  vb.hoverStyle = function () {
    return {weight: 3, color: "#212529"};
  };

  vb.applyValues = function (values) {
    vb.hideout = values || {};
    vb.layers = vb.layers.filter(function (layer) { return layer._map; });
    vb.layers.forEach(function (layer) { layer.setStyle(vb.choroplethStyle(layer.feature)); });
    return window.dash_clientside.no_update;
  };

  vb.bindTooltip = function (feature, layer, context) {
    var code = codeOf(feature);
    var large = vb.batch > vb.CANVAS_ABOVE;
    if (large && context && context.map) {
      layer.options.renderer = canvasOf(context.map);
      layer._clickTolerance = fillOnly;
    }
    if (vb.batchId !== vb.announced) { vb.announced = vb.batchId; announce(large); }
    if (vb.layers.length > 200000) { vb.layers = vb.layers.filter(function (l) { return l._map; }); }
    vb.layers.push(layer);
    var name = (feature.properties || {}).name || code;
    layer.on("add", function () {
      keyboard(layer, code, name);
      if (vb.pendingZoom !== null && vb.pendingZoom !== undefined && code === vb.pendingZoom) {
        vb.pendingZoom = null;
        setTimeout(function () { zoomTo(layer); }, 50);
      }
    });
    layer.bindTooltip(function () {
      // [name, shown value, rank, ranked] from the server; text nodes only (names are data).
      var tip = (vb.hideout.tips || {})[code];
      var box = document.createElement("span");
      var strong = document.createElement("strong");
      strong.textContent = tip ? tip[0] : name;
      box.appendChild(strong);
      box.appendChild(document.createTextNode(" (" + code + ")"));
      if (tip) {
        box.appendChild(document.createElement("br"));
        box.appendChild(document.createTextNode((vb.hideout.label || "") + ": " + tip[1]));
        if (tip[2] !== null && tip[2] !== undefined) {
          box.appendChild(document.createElement("br"));
          box.appendChild(document.createTextNode("Rang: " + tip[2] + " van " + tip[3]));
        }
      }
      return box;
    }, {sticky: true});
  };

  // Incident points (detail level 3 only): a small round marker per incident, popups built
  // from text nodes (addresses and MO are data, never HTML). Cluster markers are left alone.
  vb.incidentMarker = function (feature, latlng) {
    return L.marker(latlng, {icon: L.divIcon({className: "vb-incident", iconSize: [14, 14]})});
  };

  // Near-repeat zones (detail level 3): a disc of the zone's radius in metres around a recent
  // woninginbraak, darker the more days of raised risk are left; filled by 'kaart/near-repeat-laag'.
  vb.nearRepeatZone = function (feature, latlng) {
    var p = feature.properties || {};
    var share = Math.max(0.15, Math.min(1, (p.days_left || 0) / (p.days || 14)));
    return L.circle(latlng, {radius: p.radius_m || 200, className: "vb-near-repeat",
                             color: "#b35806", weight: 1, fillColor: "#f1a340",
                             fillOpacity: 0.15 + 0.35 * share});
  };

  vb.bindNearRepeatPopup = function (feature, layer) {
    var p = feature.properties || {};
    layer.bindPopup(function () {
      var box = document.createElement("div");
      [p.address, p.date, p.buurt, p.left].forEach(function (text) {
        if (!text) { return; }
        var el = document.createElement("div");
        el.textContent = text;
        box.appendChild(el);
      });
      return box;
    });
  };

  vb.bindIncidentPopup = function (feature, layer) {
    var p = feature.properties || {};
    if (p.cluster) { return; }
    layer.bindPopup(function () {
      var box = document.createElement("div");
      box.className = "vb-incident-popup";
      function line(text, strong) {
        if (!text) { return; }
        var el = document.createElement(strong ? "strong" : "div");
        el.textContent = text;
        box.appendChild(el);
      }
      line(p.type, true);
      line(p.date);
      line([p.address, p.pc6].filter(Boolean).join(", "));
      line(p.mo ? "MO: " + p.mo : "");
      return box;
    });
  };
})();
