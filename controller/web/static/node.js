/* Node page: a slider next to the volume box (both change together). The number box is
 * the form field; the slider is shown only when this script runs, so without JavaScript
 * the page still has one plain, labelled input. */
(function () {
  "use strict";
  document.querySelectorAll("input[type=range][data-volume-sync]").forEach(function (slider) {
    var box = document.getElementById(slider.getAttribute("data-volume-sync"));
    if (!box) {
      return;
    }
    slider.hidden = false;
    slider.addEventListener("input", function () { box.value = slider.value; });
    box.addEventListener("input", function () {
      var n = parseInt(box.value, 10);
      if (!isNaN(n) && n >= 0 && n <= 100) { slider.value = String(n); }
    });
  });
})();
