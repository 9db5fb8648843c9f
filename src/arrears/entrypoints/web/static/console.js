// The console's partial updates, without a framework: a form with data-swap="#target" is sent with fetch
// and the answer's HTML replaces the target's content; an element with data-refresh="URL" data-every="N"
// reloads its content from URL every N seconds. Without script, every form still works as a plain POST.
(function () {
  "use strict";
  function swap(target, html) {
    target.innerHTML = html;
    bind(target);
  }
  function onSubmit(event) {
    var form = event.target;
    var selector = form.getAttribute("data-swap");
    if (!selector) return;
    var target = document.querySelector(selector);
    if (!target) return;
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Console-Fetch": "1" },
      credentials: "same-origin",
    }).then(function (response) {
      if (response.status === 401) {
        return response.json().then(function (body) { window.location = body.login; });
      }
      return response.text().then(function (html) { swap(target, html); });
    });
  }
  function refresh(element) {
    var url = element.getAttribute("data-refresh");
    fetch(url, { headers: { "X-Console-Fetch": "1" }, credentials: "same-origin" }).then(function (r) {
      if (r.ok) return r.text().then(function (html) { swap(element, html); });
    });
  }
  function bind(root) {
    root.querySelectorAll("[data-refresh]").forEach(function (element) {
      if (element.dataset.bound) return;
      element.dataset.bound = "1";
      var every = parseInt(element.getAttribute("data-every") || "0", 10);
      if (every > 0) setInterval(function () { refresh(element); }, every * 1000);
    });
  }
  document.addEventListener("submit", onSubmit);
  document.addEventListener("DOMContentLoaded", function () { bind(document); });
})();
