// The pain slider and its number box say the same (no inline script: Content-Security-Policy).
document.addEventListener("DOMContentLoaded", function () {
  var slider = document.getElementById("pain-slider"), box = document.getElementById("id_pain");
  if (!box.value) { slider.dataset.untouched = "1"; }
  slider.addEventListener("input", function () { box.value = slider.value; });
  box.addEventListener("input", function () { if (box.value !== "") { slider.value = box.value; } });
});
