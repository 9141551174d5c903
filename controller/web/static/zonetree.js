/* The zone tree of the relay and stop-now forms (<ul data-zone-tree>): ticking a commune
   ticks its hamlets; unticking a hamlet unticks its commune (it no longer covers all). */
(function () {
  "use strict";
  document.querySelectorAll("[data-zone-tree]").forEach(function (tree) {
    tree.addEventListener("change", function (event) {
      var box = event.target;
      if (!box.hasAttribute("data-tree")) { return; }
      var item = box.closest("li");
      item.querySelectorAll("input[data-tree]").forEach(function (child) { child.checked = box.checked; });
      if (!box.checked) {
        var parent = item.parentElement.closest("li");
        while (parent) {
          var own = parent.querySelector("input[data-tree]");
          if (own) { own.checked = false; }
          parent = parent.parentElement.closest("li");
        }
      }
    });
  });
})();
