// A live list: the box marked data-live is refreshed every 2 seconds from its fragment.
// It is left alone while the keyboard focus is inside it (replacing it would drop the focus
// and a screen reader's place) and when nothing changed; a change is announced politely.
// The pause button (data-live-toggle, shown only when this script runs) stops and resumes it.
(function () {
  var box = document.querySelector("[data-live]");
  if (!box) { return; }
  var url = box.getAttribute("data-live");
  var stamp = document.querySelector("[data-updated]");
  var toggle = document.querySelector("[data-live-toggle]");
  var status = document.querySelector("[data-live-status]");
  var shown = null;  // the fragment last put in the box: unchanged ones are not put again
  var paused = false;
  var timer = null;
  var busy = false;  // a fetch under way: resuming then must not start a second loop

  function again() { timer = window.setTimeout(tick, 2000); }
  function focusInside() {
    var active = document.activeElement;
    return active !== null && active !== box && box.contains(active);
  }
  function announce() {
    if (!status) { return; }
    // Emptied first: the same words set again would not be read out again.
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = status.getAttribute("data-message") || "";
    }, 100);
  }
  function show(html, updatedAt) {
    if (focusInside()) { return; }  // kept as it is; a later refresh brings the change
    if (shown !== null && html !== shown) {
      box.innerHTML = html;
      announce();
    } else if (shown === null && html.trim() !== box.innerHTML.trim()) {
      box.innerHTML = html;  // the first fragment: the page's own list, said once
    }
    shown = html;
    if (stamp) { stamp.textContent = updatedAt || ""; }
  }
  function tick() {
    timer = null;
    busy = true;
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) {
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
        return null;
      }
      if (!r.ok) { return null; }
      return r.text().then(function (html) {
        if (!paused) { show(html, r.headers.get("X-Updated-At")); }
      });
    }).catch(function () { return null; }).then(function () {
      busy = false;
      if (!paused) { again(); }
    });
  }
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      paused = !paused;
      toggle.textContent = toggle.getAttribute(paused ? "data-resume" : "data-pause");
      if (paused) {
        if (timer !== null) { window.clearTimeout(timer); timer = null; }
      } else if (timer === null && !busy) {
        tick();
      }
    });
  }
  again();
})();
