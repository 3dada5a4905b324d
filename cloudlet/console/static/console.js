// cloudlet's console page: an xterm.js terminal wired to /console/ws with the token of this page's URL.
(function () {
  "use strict";

  // Nova's URL forms: ?token=<t>, or noVNC's ?path=%3Ftoken%3D<t>
  function consoleToken() {
    const params = new URLSearchParams(window.location.search);
    const direct = params.get("token");
    if (direct) return direct;
    const path = params.get("path") || "";
    return new URLSearchParams(path.slice(path.indexOf("?") + 1)).get("token") || "";
  }

  const status = document.getElementById("status");
  function showStatus(text, kind) {
    status.textContent = text;
    status.className = "status " + kind;
  }

  const term = new Terminal({
    cursorBlink: true,
    scrollback: 5000,
    fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, monospace",
    fontSize: 14,
    lineHeight: 1.2, // at 1.0 the DOM renderer clips underscores
    theme: { background: "#0f1419" },
  });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById("terminal"));
  fit.fit();
  window.addEventListener("resize", () => fit.fit());
  term.focus();
  window.cloudletTerminal = term; // lets tests (and curious users) read the screen

  // Served as <prefix>/console/<page>: the socket lives beside the page, under the same prefix.
  const prefix = window.location.pathname.replace(/\/console\/[^/]*$/, "");
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const url = scheme + "//" + window.location.host + prefix + "/console/ws?token=" + encodeURIComponent(consoleToken());
  const socket = new WebSocket(url);

  socket.addEventListener("open", () => showStatus("connected", "connected"));
  socket.addEventListener("message", (event) => term.write(event.data));
  socket.addEventListener("close", (event) => {
    const why = event.code === 1000 || event.code === 1005 ? "" : " (" + (event.reason || event.code) + ")";
    showStatus("disconnected" + why, "closed");
    term.write("\r\n\x1b[2m[console closed" + why + "]\x1b[0m\r\n");
  });
  term.onData((data) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(data);
  });
})();
