// Polls the job's status and moves the bar; reloads the page when the run is finished.
// The #announce region (role=status, aria-live=polite) tells screen readers of each new
// stage and every 10 % of progress; the server words it, so it never repeats a tick.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector(".bar");
  var fill = box.querySelector(".fill");
  function set(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== String(text)) { el.textContent = text; }
  }
  function tick() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.finished) { set("announce", "Finished. Loading the result."); window.location.reload(); return; }
        fill.style.width = s.percent + "%";
        bar.setAttribute("aria-valuenow", Math.round(s.percent));
        set("stage", s.stage);
        set("counter", s.total ? s.done + " of " + s.total : "");
        set("percent", Math.round(s.percent) + "%");
        set("written", s.written);
        if (s.announce) { set("announce", s.announce); }
        var stop = document.getElementById("stop-form");
        if (stop && !s.stoppable) { stop.hidden = true; }
        window.setTimeout(tick, 500);
      })
      .catch(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 300);
})();
