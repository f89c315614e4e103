// The tutor's answer, streamed: the form is sent with fetch and the reply is
// read as server-sent events (`delta` text pieces, then `done` with the
// finished message's HTML). Without JavaScript the form posts normally.
(function () {
  var form = document.getElementById("ask-form");
  if (!form || !window.fetch || !window.TextDecoder) return;
  var list = document.getElementById("chat-messages");
  var typing = form.querySelector("[data-typing]");
  var button = form.querySelector("button[type=submit]");
  var field = form.querySelector("textarea");

  function fromTemplate(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  function busy(on) {
    button.disabled = on;
    if (typing) typing.hidden = !on;
  }

  field.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  });

  form.addEventListener("submit", function (event) {
    var text = field.value.trim();
    if (!text) return;
    event.preventDefault();
    var empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    var question = fromTemplate("question-template");
    question.querySelector(".chat-body").textContent = text;
    list.appendChild(question);
    var answer = fromTemplate("typing-template");
    list.appendChild(answer);
    answer.scrollIntoView({ block: "end", behavior: "smooth" });
    var body = answer.querySelector(".chat-body");
    var started = false;
    var data = new FormData(form);
    field.value = "";
    busy(true);

    fetch(form.dataset.streamUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function handle(block) {
        var name = "message", payload = "";
        block.split("\n").forEach(function (line) {
          if (line.indexOf("event: ") === 0) name = line.slice(7);
          else if (line.indexOf("data: ") === 0) payload += line.slice(6);
        });
        if (!payload) return;
        var value = JSON.parse(payload);
        if (name === "delta") {
          if (!started) { body.textContent = ""; started = true; }
          body.textContent += value;
        } else if (name === "done") {
          // htmx must see the new message's own forms ("Didn't get it").
          var holder = document.createElement("div");
          holder.innerHTML = value;
          var fresh = holder.firstElementChild;
          answer.replaceWith(fresh);
          if (window.htmx) window.htmx.process(fresh);
        }
      }
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { if (buffer.trim()) handle(buffer); return; }
          buffer += decoder.decode(chunk.value, { stream: true });
          var parts = buffer.split("\n\n");
          buffer = parts.pop();
          parts.forEach(handle);
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      // Streaming failed: fall back to the plain form post.
      field.value = text;
      answer.remove();
      question.remove();
      HTMLFormElement.prototype.submit.call(form);
    }).finally(function () {
      busy(false);
      var latest = document.getElementById("latest");
      if (latest) list.appendChild(latest);
    });
  });
})();
