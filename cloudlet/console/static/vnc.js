// cloudlet's VNC console page: noVNC's RFB client on /console/ws with the token of this page's URL.
import RFB from "./novnc/core/rfb.js";

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

// Served as <prefix>/console/<page>: the socket lives beside the page, under the same prefix.
const prefix = window.location.pathname.replace(/\/console\/[^/]*$/, "");
const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
const url = scheme + "//" + window.location.host + prefix + "/console/ws?token=" + encodeURIComponent(consoleToken());

const rfb = new RFB(document.getElementById("screen"), url, { wsProtocols: ["binary"] });
rfb.scaleViewport = true;
rfb.resizeSession = false;
window.cloudletRfb = rfb; // lets tests (and curious users) look at the session
rfb.addEventListener("connect", () => showStatus("connected", "connected"));
rfb.addEventListener("disconnect", (event) => {
  showStatus(event.detail.clean ? "disconnected" : "disconnected (connection lost)", "closed");
});
rfb.addEventListener("desktopname", (event) => { document.title = event.detail.name + " - cloudlet console"; });
