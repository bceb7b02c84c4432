// The matching screen's one convenience: a box that narrows every column's list of fields to those
// whose label or name holds the words typed (the lists stay complete without JavaScript).
(function () {
  "use strict";
  var box = document.getElementById("field-filter");
  if (!box) { return; }
  box.closest("label").hidden = false;
  box.addEventListener("input", function () {
    var q = box.value.trim().toLowerCase();
    document.querySelectorAll("select.field-select").forEach(function (sel) {
      Array.prototype.forEach.call(sel.options, function (o) {
        var keep = !o.value || o.selected || q === "" ||
          (o.textContent + " " + o.value).toLowerCase().indexOf(q) >= 0;
        o.hidden = !keep;
      });
    });
  });
})();
