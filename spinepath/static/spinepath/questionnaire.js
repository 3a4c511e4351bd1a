// The pain slider and its number box say the same (no inline script: Content-Security-Policy).
// A slider left where it starts is not an answer: only a moved slider is marked as one, and
// it shows no marker before it is touched.
document.addEventListener("DOMContentLoaded", function () {
  var slider = document.getElementById("pain-slider"), box = document.getElementById("id_pain");
  var moved = document.getElementById("pain-slider-moved");
  // No marker at 50 before the patient touches it or types a number: it would suggest one.
  function shown() { slider.classList.remove("unset"); }
  slider.addEventListener("pointerdown", shown);
  slider.addEventListener("input", function () { box.value = slider.value; moved.value = "1"; shown(); });
  box.addEventListener("input", function () { if (box.value !== "") { slider.value = box.value; shown(); } });
});
