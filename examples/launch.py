"""Starts hookbox for an example and stops it when the example exits.

The binary is $HOOKBOX_BIN when set (tests use it), else `cargo run --release` from the
repository. HOOKBOX_PORT (default 8001) is hookbox's port; APP_PORT (default 8002) is the
example's own web app.
"""
import atexit
import os
import signal
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOOKBOX_PORT = int(os.environ.get("HOOKBOX_PORT", "8001"))
APP_PORT = int(os.environ.get("APP_PORT", "8002"))
HOOKBOX = "http://127.0.0.1:%d" % HOOKBOX_PORT


def start_hookbox(*flags):
    binary = os.environ.get("HOOKBOX_BIN")
    cmd = [binary] if binary else ["cargo", "run", "--release", "--quiet", "--"]
    cmd += ["-p", str(HOOKBOX_PORT)] + list(flags)
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    atexit.register(lambda: proc.poll() is None and proc.send_signal(signal.SIGTERM))
    ready = threading.Event()

    def relay():
        for line in proc.stderr:
            sys.stderr.write("hookbox: " + line)
            if "listening on http://" in line:
                ready.set()

    threading.Thread(target=relay, daemon=True).start()
    if not ready.wait(600):
        sys.exit("hookbox did not start")
    if proc.poll() is not None:
        sys.exit("hookbox exited")
    return proc


def serve(handler_class):
    """Runs the example's web app on APP_PORT until interrupted."""
    from http.server import ThreadingHTTPServer
    server = ThreadingHTTPServer(("127.0.0.1", APP_PORT), handler_class)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("example: open http://127.0.0.1:%d/" % APP_PORT, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
