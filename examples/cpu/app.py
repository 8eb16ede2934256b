"""A live CPU graph: a REST publisher, and a page that draws what arrives on a canvas.

    python3 examples/cpu/app.py         # then open http://127.0.0.1:8002/

It starts hookbox (open mode, with a REST token), makes the channel `cpu` with a minute of
history, publishes this machine's CPU use and load every second over REST, and serves the
page. Nothing is fetched from outside. Python standard library only.
"""
import json
import os
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import launch  # noqa: E402

TOKEN = os.urandom(8).hex()
INTERVAL = float(os.environ.get("CPU_INTERVAL", "1"))

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cpu</title>
<style>body { font: 15px system-ui, sans-serif; margin: 2em auto; max-width: 50em; }
canvas { border: 1px solid #ccc; width: 100%; height: 260px; } #now { color: #555; }</style>
</head><body><h1>CPU</h1><p id="now">waiting for the first sample...</p>
<canvas id="chart" width="800" height="260"></canvas>
<script src="HOOKBOX/static/hookbox.js"></script>
<script>
var points = [], canvas = document.getElementById("chart"), g = canvas.getContext("2d");
function draw() {
  var w = canvas.width, h = canvas.height, n = 60;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#eee";
  for (var y = 0; y <= 4; y++) { g.beginPath(); g.moveTo(0, y * h / 4); g.lineTo(w, y * h / 4); g.stroke(); }
  g.strokeStyle = "#c33"; g.lineWidth = 2; g.beginPath();
  points.slice(-n).forEach(function (p, i) {
    var x = i * w / (n - 1), y = h - p.cpu / 100 * h;
    if (i) g.lineTo(x, y); else g.moveTo(x, y);
  });
  g.stroke();
}
function add(p) {
  points.push(p);
  document.getElementById("now").textContent = "cpu " + p.cpu.toFixed(1) + " %, load " + p.load;
  draw();
}
var conn = hookbox.connect("HOOKBOX/");
conn.onSubscribed = function (name, sub) {
  sub.history.forEach(function (h) { if (h[0] === "PUBLISH") add(h[1].payload); });
  sub.onPublish = function (f) { add(f.payload); };
};
conn.subscribe("cpu");
window.cpu = { points: function () { return points.length; } };
</script></body></html>"""


def rest(method, **fields):
    fields["security_token"] = TOKEN
    data = urllib.parse.urlencode(fields).encode()
    url = "%s/web/%s" % (launch.HOOKBOX, method)
    with urllib.request.urlopen(url, data, timeout=5) as r:
        return json.loads(r.read())


def cpu_times():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return idle, sum(fields)


def publisher():
    idle0, total0 = cpu_times()
    while True:
        time.sleep(INTERVAL)
        idle1, total1 = cpu_times()
        busy = 100.0 * (1 - (idle1 - idle0) / max(total1 - total0, 1))
        idle0, total0 = idle1, total1
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        sample = {"cpu": round(busy, 1), "load": load, "t": time.time()}
        try:
            ok, _ = rest("publish", channel_name="cpu", payload=json.dumps(sample))
            if not ok:
                # The channel goes when its last viewer leaves: make it again.
                rest("create_channel", channel_name="cpu", history_size="60")
        except OSError as e:
            sys.stderr.write("cpu: publish failed: %s\n" % e)


class App(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        body = PAGE.replace("HOOKBOX", launch.HOOKBOX).encode()
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    launch.start_hookbox("-r", TOKEN)
    print("cpu: create_channel", rest("create_channel", channel_name="cpu", history_size="60"), flush=True)
    threading.Thread(target=publisher, daemon=True).start()
    launch.serve(App)
