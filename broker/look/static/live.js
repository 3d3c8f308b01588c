(function () {
  var box = document.querySelector("[data-live]");
  if (!box) { return; }
  var url = box.getAttribute("data-live");
  var stamp = document.querySelector("[data-updated]");
  function again() { window.setTimeout(tick, 2000); }
  function tick() {
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) {
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
        return null;
      }
      if (!r.ok) { return null; }
      return r.text().then(function (html) {
        box.innerHTML = html;
        if (stamp) { stamp.textContent = r.headers.get("X-Updated-At") || ""; }
      });
    }).catch(function () { return null; }).then(again);
  }
  again();
})();
