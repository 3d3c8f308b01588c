"""The dashboard's stylesheet, its one script and its icon, served from /static so the CSP
can forbid inline code (no build step: these strings are the whole front end)."""

# Named by every page, so browsers do not ask for /favicon.ico (a 404 on the console).
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#1f3a5f"/>'
    '<path d="M11 5.5a4 4 0 1 0 0 5" stroke="#fff" stroke-width="2" fill="none"/></svg>'
)

CSS = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { background: #1f3a5f; color: #fff; padding: .6rem 1.2rem; display: flex;
  align-items: center; gap: 1.2rem; flex-wrap: wrap; }
header a { color: #fff; text-decoration: none; padding: .2rem .5rem; border-radius: 4px; }
header a.active, header a:hover { background: #2f5689; }
header .who { margin-left: auto; font-size: .9rem; }
header form { display: inline; }
header button { margin-left: .5rem; }
main { padding: 1rem 1.2rem; }
h1 { font-size: 1.3rem; margin: .2rem 0 .8rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e1e4e8; }
th { background: #eef1f5; font-weight: 600; }
td { white-space: nowrap; }
#live { overflow-x: auto; }
tr.overdue td { background: #fde2e2; color: #a30000; }
td.late { font-weight: 700; }
.muted { color: #6a7380; }
form.filters { display: flex; gap: .6rem; flex-wrap: wrap; align-items: end; margin-bottom: .8rem; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; }
.bar { display: flex; gap: 1rem; align-items: center; margin-bottom: .6rem; }
.login { max-width: 22rem; margin: 3rem auto; background: #fff; padding: 1.2rem 1.5rem;
  border: 1px solid #e1e4e8; border-radius: 6px; }
.login label { display: block; margin: .5rem 0; }
.login input { width: 100%; box-sizing: border-box; padding: .35rem; }
.error { color: #a30000; font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem;
  background: #fff; padding: .8rem 1rem; border: 1px solid #e1e4e8; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #1d2430; }
svg.chart .bar.open, svg.chart .bar.received { fill: #5b7db1; }
svg.chart .bar.overdue { fill: #c62828; }
svg.chart .bar.receipt { fill: #4f8a5b; }
svg.chart .bar.answer { fill: #7a5ba8; }
svg.chart .axis { stroke: #9aa3ad; stroke-width: 1; }
svg.chart text.scale { text-anchor: end; fill: #6a7380; }
svg.chart text.tick { font-size: 10px; fill: #6a7380; }
.trends { display: grid; gap: 1rem; }
section.trend { background: #fff; border: 1px solid #e1e4e8; padding: .6rem .8rem; }
section.trend h3 { font-size: 1rem; margin: 0 0 .2rem; }
section.trend svg.chart { display: block; max-width: 100%; height: auto; margin: .3rem 0; }
h3 small, .agency-id { color: #6a7380; font-weight: 400; font-size: .8em; }
.agency.named { text-decoration: underline dotted #9aa3ad; }
@media print {
  header nav, header form, form.filters, a[download] { display: none; }
  body { background: #fff; }
  section.trend { break-inside: avoid; border: 0; }
  .agency.named::after { content: " (" attr(data-agency) ")"; font-size: .8em; color: #6a7380; }
}
"""

# Polls the fragment named by data-live every 2 s and swaps it in; on 401 (the session ended)
# it goes to the login page, which brings the user back here afterwards.
JS = """
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
"""
