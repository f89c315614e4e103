// Upload progress for htmx forms marked data-upload-progress: htmx reports
// the XHR upload's progress; we show it and keep the button from a double submit.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest ? event.target.closest("[data-upload-progress]") : null;
  if (!form || !event.detail.lengthComputable) return;
  var bar = form.querySelector(".upload-progress");
  if (!bar) return;
  bar.hidden = false;
  bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
});
document.addEventListener("htmx:beforeRequest", function (event) {
  var form = event.target;
  if (form.matches && form.matches("[data-upload-progress]")) {
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
  }
});
document.addEventListener("htmx:afterRequest", function (event) {
  var form = event.target;
  if (form.matches && form.matches("[data-upload-progress]")) {
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = false;
  }
});
