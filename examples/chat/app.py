"""A presenceful, moderated chat: the web application keeps every decision through webhooks.

    python3 examples/chat/app.py        # then open http://127.0.0.1:8002/

It starts hookbox with its webhooks pointed here, and serves a login form and the chat page.
The login sets a cookie; hookbox forwards the browser's cookies with the connect webhook, and
this app names the user from it (or refuses). Channel options come from create_channel
(presenceful, 50 messages of history, kept when empty so history greets whoever joins), and
every publish passes through a word filter that rewrites the payload. Python standard library
only.
"""
import hashlib
import hmac
import html
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import launch  # noqa: E402

SECRET = os.urandom(16).hex()  # signs login cookies, and is hookbox's webhook secret
BANNED = re.compile(r"\b(darn|heck|drat)\b", re.IGNORECASE)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chat</title>
<style>
 body {{ font: 15px/1.4 system-ui, sans-serif; max-width: 48em; margin: 2em auto; padding: 0 1em; }}
 #log {{ border: 1px solid #ccc; height: 20em; overflow-y: auto; padding: .5em; }}
 #log p {{ margin: .15em 0; }} .sys {{ color: #888; }} #people {{ color: #555; }}
 form {{ display: flex; gap: .5em; margin-top: .5em; }} #text {{ flex: 1; }}
</style></head><body>
<h1>chat</h1>
<p>Logged in as <b id="me">{name}</b>. <span id="people"></span></p>
<div id="log"></div>
<form id="say"><input id="text" autocomplete="off"><button>Send</button></form>
<script src="{hookbox}/static/hookbox.js"></script>
<script>
var log = document.getElementById("log"), conn = hookbox.connect("{hookbox}/");
function line(text, cls) {{
  var p = document.createElement("p"); p.textContent = text; if (cls) p.className = cls;
  log.appendChild(p); log.scrollTop = log.scrollHeight;
}}
function people(sub) {{ document.getElementById("people").textContent = "Here: " + sub.presence.join(", "); }}
conn.onError = function (e) {{ line("error: " + e.msg, "sys"); }};
conn.onSubscribed = function (name, sub) {{
  sub.history.forEach(function (h) {{ if (h[0] === "PUBLISH") line(h[1].user + ": " + h[1].payload.text); }});
  people(sub);
  sub.onPublish = function (f) {{ line(f.user + ": " + f.payload.text); }};
  sub.onSubscribe = function (f) {{ line(f.user + " joined", "sys"); people(sub); }};
  sub.onUnsubscribe = function (f) {{ line(f.user + " left", "sys"); people(sub); }};
}};
conn.subscribe("chat");
document.getElementById("say").onsubmit = function (e) {{
  e.preventDefault();
  var t = document.getElementById("text");
  if (t.value) conn.publish("chat", {{text: t.value}});
  t.value = "";
}};
window.chat = {{ lines: function () {{ return Array.prototype.map.call(log.children, function (p) {{ return p.textContent; }}); }} }};
</script></body></html>"""

LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>log in</title></head>
<body style="font: 15px system-ui, sans-serif; margin: 3em auto; max-width: 30em">
<h1>chat</h1><form method="post" action="/login">
<label>Your name <input name="name" id="name" pattern="[A-Za-z0-9_-]{1,32}" required></label>
<button id="go">Log in</button></form></body></html>"""


def sign(name):
    mac = hmac.new(SECRET.encode(), name.encode(), hashlib.sha256).hexdigest()[:32]
    return "%s.%s" % (name, mac)


def user_from(cookie_header):
    """The logged-in name in a Cookie header, if its signature holds."""
    for part in (cookie_header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "chat_user" and "." in value:
            name, _, _mac = value.rpartition(".")
            if hmac.compare_digest(sign(name), value):
                return name
    return None


def hook(action, form, cookie):
    """What the application answers to each of hookbox's webhooks."""
    if form.get("secret") != SECRET:
        return [False, {"error": "bad secret"}]
    if action == "connect":
        name = user_from(cookie)
        return [True, {"name": name}] if name else [False, {"error": "log in first"}]
    if action == "create_channel":
        return [True, {"presenceful": True, "history_size": 50}]
    if action == "destroy_channel":
        return [False, {}]  # keep the channel, and its history, when everyone leaves
    if action == "publish":
        payload = json.loads(form.get("payload", "null"))
        if isinstance(payload, dict) and isinstance(payload.get("text"), str):
            clean = BANNED.sub(lambda m: "*" * len(m.group(0)), payload["text"])
            return [True, {"override_payload": {"text": clean[:500]}}]
        return [False, {"error": "messages are {\"text\": ...}"}]
    return [True, {}]  # subscribe, unsubscribe, disconnect


class App(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("app: " + fmt % args + "\n")

    def send(self, status, body, ctype="text/html; charset=utf-8", headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def form(self):
        length = int(self.headers.get("Content-Length") or 0)
        pairs = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        return {k: v[0] for k, v in pairs.items()}

    def do_GET(self):
        name = user_from(self.headers.get("Cookie"))
        if self.path != "/":
            return self.send(404, "not found", "text/plain")
        if not name:
            return self.send(200, LOGIN)
        self.send(200, PAGE.format(name=html.escape(name), hookbox=launch.HOOKBOX))

    def do_POST(self):
        form = self.form()
        if self.path == "/login":
            name = form.get("name", "")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name):
                return self.send(400, "a name is 1 to 32 letters, digits, _ or -", "text/plain")
            cookie = "chat_user=%s; Path=/; SameSite=Lax" % sign(name)
            return self.send(303, "", headers=[("Location", "/"), ("Set-Cookie", cookie)])
        if self.path.startswith("/hookbox/"):
            answer = hook(form.get("action", ""), form, self.headers.get("Cookie"))
            return self.send(200, json.dumps(answer), "application/json")
        self.send(404, "not found", "text/plain")


if __name__ == "__main__":
    launch.start_hookbox("--cbport", str(launch.APP_PORT), "-s", SECRET)
    launch.serve(App)
