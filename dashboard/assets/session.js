/* When the server ends the session (idle timeout, logout elsewhere, a new password), Dash's
   next callback answers 401. Go to the login page then, instead of leaving a page that looks
   alive but no longer updates. */
(function () {
  if (!window.fetch || window.__vbSessionWatch) { return; }
  window.__vbSessionWatch = true;
  var original = window.fetch;
  window.fetch = function (input, init) {
    return original.apply(this, arguments).then(function (response) {
      var url = (typeof input === "string") ? input : (input && input.url) || "";
      if (response.status === 401 && url.indexOf("/_dash-") !== -1) {
        var next = window.location.pathname + window.location.search;
        window.location.assign("/login?reden=verlopen&next=" + encodeURIComponent(next));
      }
      return response;
    });
  };
})();
