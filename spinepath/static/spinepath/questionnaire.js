// The pain slider and its number box say the same (no inline script: Content-Security-Policy).
// A slider left where it starts is not an answer: only a moved slider is marked as one.
document.addEventListener("DOMContentLoaded", function () {
  var slider = document.getElementById("pain-slider"), box = document.getElementById("id_pain");
  var moved = document.getElementById("pain-slider-moved");
  slider.addEventListener("input", function () { box.value = slider.value; moved.value = "1"; });
  box.addEventListener("input", function () { if (box.value !== "") { slider.value = box.value; } });
});
