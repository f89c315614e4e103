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

function showFormError(form, message) {
  var note = form.querySelector(".client-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "field-error client-error";
    note.setAttribute("role", "alert");
    var anchor = form.querySelector("input[type=file]") || form.querySelector("button[type=submit]");
    anchor.insertAdjacentElement("afterend", note);
  }
  note.textContent = message;
}

// htmx swaps no error answer (a 500, a proxy's 502) and sees no answer at all
// when the server is unreachable: without this the button just comes back and
// the student never learns the action failed. The next successful request
// (the status polling, say) takes the notice away again.
function requestError(kind) {
  var box = document.getElementById("request-error");
  if (!box) return;
  box.textContent = box.dataset[kind];
  box.hidden = false;
}
// A refusal that says why (413: too large; 429: too many, with its wait) is
// shown in its form below, not as a failure of the server.
function saysWhy(xhr) { return xhr && (xhr.status === 413 || xhr.status === 429); }
document.addEventListener("htmx:responseError", function (event) {
  if (!saysWhy(event.detail.xhr)) requestError("server");
});
document.addEventListener("htmx:sendError", function () { requestError("network"); });
document.addEventListener("htmx:timeout", function () { requestError("network"); });
document.addEventListener("htmx:afterRequest", function (event) {
  var box = document.getElementById("request-error");
  if (box && !box.hidden && event.detail.successful) box.hidden = true;
});

// Refuse a file over the limit before sending a single byte of it.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var limit = Number(form.dataset ? form.dataset.maxBytes : 0);
  if (!limit) return;
  var input = form.querySelector("input[type=file]");
  var file = input && input.files && input.files[0];
  if (file && file.size > limit) {
    event.preventDefault();
    event.stopImmediatePropagation();
    showFormError(form, form.dataset.tooLarge);
  }
}, true);

// The server refuses a body over its limit before reading it (HTTP 413), or a
// request over the student's rate (HTTP 429), with the message as a fragment:
// show it in the form, which stays as it was.
document.addEventListener("htmx:responseError", function (event) {
  var xhr = event.detail.xhr;
  var form = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("form") : null;
  if (!saysWhy(xhr) || !form) return;
  var text = new DOMParser().parseFromString(xhr.responseText, "text/html").body.textContent;
  showFormError(form, text.trim() || (xhr.status === 413 && form.dataset.tooLarge) || "");
});

// Material tabs are swapped by htmx (hx-boost): keep keyboard focus on the tab
// just chosen, since the old link element is gone after the swap.
document.addEventListener("htmx:afterSettle", function (event) {
  var target = event.detail && event.detail.target;
  if (!target || target.id !== "material-tabs") return;
  var current = target.querySelector(".tabs [aria-current=page]");
  if (current) current.focus({ preventScroll: true });
});

// Selects marked data-autosubmit (the language switcher) submit on change; an
// inline onchange= would need 'unsafe-inline' in the Content-Security-Policy.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (select.matches && select.matches("select[data-autosubmit]") && select.form) {
    select.form.submit();
  }
});
