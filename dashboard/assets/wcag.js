/* WCAG 2.1 AA repairs that no component property offers (#15). One observer watches the page
   and fixes what Dash and Plotly render, wherever a page puts it:

   1. dcc.Dropdown (Dash 4) keeps its real control, the trigger button, out of the tab order
      (tabindex -1) and puts an invisible read-only <input aria-hidden="true"> in the tab order
      that forwards focus to the button. A focusable element hidden from assistive technology
      breaks 4.1.2 (axe: aria-hidden-focus). Here the button is the tab stop itself and the
      proxy input leaves the tab order; the component's own keyboard handling (it sits on the
      button) is unchanged. The component resets the proxy's tabindex each time the button
      loses focus, so the observer also watches tabindex. The button is named by its value
      only (aria-labelledby): the field's <label for> goes in front, so a screen reader says
      which field it is (1.3.1, 4.1.2) and the shown text stays part of the name (2.5.3).

   2. A Plotly chart is an SVG picture without a text alternative (1.1.1). Each chart's plot
      gets role="img" and an aria-label built from the figure's own data after every drawing:
      its title (the figure's title, or else the heading above the chart) and per series the
      number of values, the period, the latest and the highest value, in Dutch number format.
      The toolbar stays outside the picture, so its buttons keep their names. The same text is
      in the graph's data-beschrijving attribute (tests read it there).

   3. The skip link "Naar de inhoud" (layouts/shell.py) moves focus to the main content without
      changing the address (a #fragment would reach dcc.Location). */
(function () {
  if (window.__vbWcag) { return; }
  window.__vbWcag = true;

  var MONTHS = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov",
                "dec"];
  var NUMBER = new Intl.NumberFormat("nl-NL", {maximumFractionDigits: 1});
  var MAX_SERIES = 6;

  function before(a, b) {
    return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
  }

  /* The button's name: the field's <label for> first (the component names it by its shown
     value only), then the value texts in the order they are shown ("Geweld, Drugs, 2 gekozen":
     the visible text is part of the name, 2.5.3). */
  function dropdownName(button) {
    /* The component's own list ("<id>-value-count <id>-value") is kept aside the first time:
       the count exists only with two or more values, so an id missing now may appear later
       (React does not set the unchanged attribute again). */
    if (!button.hasAttribute("data-vb-labelledby")) {
      button.setAttribute("data-vb-labelledby", button.getAttribute("aria-labelledby") || "");
    }
    var own = button.getAttribute("data-vb-labelledby").split(/\s+/).filter(Boolean);
    var label = button.id && document.querySelector('label[for="' + CSS.escape(button.id) + '"]');
    if (label && !label.id) { label.id = button.id + "-label"; }
    var parts = own.filter(function (id) { return !label || id !== label.id; })
      .map(function (id) { return document.getElementById(id); })
      .filter(Boolean).sort(before).map(function (el) { return el.id; });
    if (label) { parts.unshift(label.id); }
    var name = parts.join(" ");
    if (name && button.getAttribute("aria-labelledby") !== name) {
      button.setAttribute("aria-labelledby", name);
    }
  }

  function dropdowns(root) {
    root.querySelectorAll(".dash-dropdown-focus-target").forEach(function (proxy) {
      if (proxy.tabIndex !== -1) { proxy.tabIndex = -1; }
      var button = proxy.nextElementSibling;
      if (!button || button.tagName !== "BUTTON") { return; }
      if (!button.disabled && button.tabIndex !== 0) { button.tabIndex = 0; }
      dropdownName(button);
    });
  }

  /* The open list: Dash renders each choice as <label role="option"> around a real checkbox
     (radio for a single choice) that takes the focus. An option's children are presentational,
     so the focused checkbox is hidden inside it (axe: nested-interactive) and the listbox has
     no name (aria-input-field-name). Without those roles it is what it works as: a named group
     of labelled checkboxes in a dialog, read as "Havenstad, selectievakje, aangevinkt". */
  function optionLists(root) {
    root.querySelectorAll(".dash-dropdown-content").forEach(function (popup) {
      var button = popup.id && document.querySelector('[aria-controls="' + CSS.escape(popup.id) + '"]');
      var name = button && button.getAttribute("aria-labelledby");
      var label = name && document.getElementById(name.split(" ")[0]);
      if (button && button.getAttribute("aria-haspopup") !== "dialog") {
        button.setAttribute("aria-haspopup", "dialog");
      }
      popup.querySelectorAll(".dash-options-list").forEach(function (list) {
        if (list.getAttribute("role") !== "group") { list.setAttribute("role", "group"); }
        if (label && label.tagName === "LABEL") {
          if (list.getAttribute("aria-labelledby") !== label.id) {
            list.setAttribute("aria-labelledby", label.id);
            popup.setAttribute("aria-labelledby", label.id);
          }
        } else if (list.getAttribute("aria-label") !== "Keuzes") {
          list.setAttribute("aria-label", "Keuzes");
        }
      });
      popup.querySelectorAll(".dash-options-list-option[role], .dash-options-list-option[aria-selected]")
        .forEach(function (option) {
          option.removeAttribute("role");
          option.removeAttribute("aria-selected");
        });
    });
  }

  function text(value) {
    return String(value == null ? "" : value).replace(/<br\s*\/?>/gi, " ")
      .replace(/<[^>]*>/g, "").replace(/\s+/g, " ").trim();
  }

  function number(value) {
    return typeof value === "number" && isFinite(value) ? NUMBER.format(value) : text(value);
  }

  /* A point's label: its hover label when the figure has one (customdata text), a month for an
     ISO date ("2024-03-01" -> "mrt 2024"), a day for a date with a time, else the x value. */
  function pointLabel(trace, i) {
    var custom = trace.customdata && trace.customdata[i];
    if (typeof custom === "string" && custom) { return text(custom); }
    var x = trace.x ? trace.x[i] : i + 1;
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(x));
    if (m) {
      return m[3] === "01" || String(x).length === 7 ? MONTHS[+m[2] - 1] + " " + m[1]
        : (+m[3]) + " " + MONTHS[+m[2] - 1] + " " + m[1];
    }
    return text(x);
  }

  function titleOf(gd) {
    var layout = gd.layout || {};
    var own = layout.title && (typeof layout.title === "string" ? layout.title : layout.title.text);
    if (own) { return text(own); }
    var node = gd;
    for (var depth = 0; depth < 6 && node && node !== document.body; depth++) {
      node = node.parentElement;
      if (!node) { break; }
      var headings = node.querySelectorAll("h1, h2, h3, h4, h5, h6");
      for (var k = headings.length - 1; k >= 0; k--) {
        if (headings[k].compareDocumentPosition(gd) & Node.DOCUMENT_POSITION_FOLLOWING) {
          return text(headings[k].textContent);
        }
      }
    }
    return "";
  }

  function seriesSentence(trace, index) {
    var name = text(trace.name) || (index === 0 ? "Waarden" : "Reeks " + (index + 1));
    if (trace.type === "heatmap" && trace.z) {
      var best = null;
      trace.z.forEach(function (row, r) {
        (row || []).forEach(function (v, c) {
          if (typeof v === "number" && (best === null || v > best.v)) { best = {v: v, r: r, c: c}; }
        });
      });
      if (best === null) { return name + ": geen waarden."; }
      var where = [trace.y ? text(trace.y[best.r]) : "", trace.x ? text(trace.x[best.c]) : ""]
        .filter(Boolean).join(", ");
      return "Hoogste waarde " + number(best.v) + (where ? " (" + where + ")" : "") + ".";
    }
    var values = (trace.y || []);
    var points = [];
    for (var i = 0; i < values.length; i++) {
      if (typeof values[i] === "number" && isFinite(values[i])) { points.push(i); }
    }
    if (!points.length) { return name + ": geen gegevens."; }
    var first = points[0], last = points[points.length - 1], high = first;
    points.forEach(function (p) { if (values[p] > values[high]) { high = p; } });
    var parts = [name + ": " + points.length + (points.length === 1 ? " waarde" : " waarden")];
    if (points.length > 1) {
      parts[0] += " van " + pointLabel(trace, first) + " tot " + pointLabel(trace, last);
    }
    parts.push("laatste " + number(values[last]) + " in " + pointLabel(trace, last));
    if (points.length > 1) {
      parts.push("hoogste " + number(values[high]) + " in " + pointLabel(trace, high));
    }
    return parts.join("; ") + ".";
  }

  function describe(gd) {
    var title = titleOf(gd);
    var traces = (gd.data || []).filter(function (t) {
      return t.visible !== false && t.visible !== "legendonly";
    });
    var sentences = traces.slice(0, MAX_SERIES).map(seriesSentence);
    if (traces.length > MAX_SERIES) {
      sentences.push("En nog " + (traces.length - MAX_SERIES) + " reeksen.");
    }
    if (!traces.length) { sentences.push("Geen gegevens."); }
    return "Grafiek" + (title ? ": " + title : "") + ". " + sentences.join(" ");
  }

  function label(gd) {
    var svgs = gd.querySelectorAll(".svg-container > svg.main-svg");
    if (!svgs.length) { return; }
    var summary = describe(gd);
    var plot = svgs[0];
    if (plot.getAttribute("aria-label") !== summary) {
      plot.setAttribute("role", "img");
      plot.setAttribute("aria-label", summary);
      gd.setAttribute("data-beschrijving", summary);
    }
    for (var i = 1; i < svgs.length; i++) {  // hover labels and the like: the summary says it
      if (svgs[i].getAttribute("aria-hidden") !== "true") { svgs[i].setAttribute("aria-hidden", "true"); }
    }
  }

  function charts(root) {
    root.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      if (!gd.__vbWcag && typeof gd.on === "function") {
        gd.__vbWcag = true;
        gd.on("plotly_afterplot", function () { label(gd); });
      }
      label(gd);
    });
  }

  // Dash 4's date picker puts aria-expanded on its wrapper div, which has no role that
  // allows it (axe: aria-allowed-attr, critical). Its input says whether the calendar is open.
  function datePickers(root) {
    root.querySelectorAll(".vb-date [aria-expanded]:not(input):not(button):not([role]), " +
                          "[id$='-wrapper'][aria-expanded]:not([role])").forEach(function (el) {
      el.removeAttribute("aria-expanded");
    });
  }

  var queued = false;
  function repair() {
    queued = false;
    dropdowns(document);
    optionLists(document);
    datePickers(document);
    charts(document);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.skip-link");
    var main = link && document.getElementById(link.getAttribute("href").slice(1));
    if (main) {
      event.preventDefault();
      main.focus();
      main.scrollIntoView();
    }
  });

  function start() {
    repair();
    new MutationObserver(function () {
      if (!queued) {
        queued = true;
        window.requestAnimationFrame(repair);
      }
    }).observe(document.body, {childList: true, subtree: true, attributes: true,
                               attributeFilter: ["tabindex", "aria-labelledby", "aria-selected",
                                                "aria-expanded"]});
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
