// A keyboard-wedge barcode scanner types the label's code and then Enter. In a field marked
// data-scan, that Enter moves on to the next field instead of sending a half-filled form.
document.addEventListener("keydown", function (event) {
  var field = event.target;
  if (event.key !== "Enter" || !field.matches || !field.matches("input[data-scan]")) {
    return;
  }
  event.preventDefault();
  var fields = Array.prototype.slice.call(
    field.form.querySelectorAll("input:not([type=hidden]), select, textarea, button")
  );
  var next = fields[fields.indexOf(field) + 1];
  if (next) {
    next.focus();
  }
});
