"""A minimal W3C WebDriver client (HTTP and JSON, the standard library only) for WebKitGTK's
WebKitWebDriver: new session, navigate, execute script, find an element, send keys, end.

Why not Selenium: on WebKitGTK its file upload endpoint is missing (a local path must be sent
as the input's keys instead, which is all this does), and these six commands are plain HTTP;
Selenium would add eight pinned packages for them.
"""
from __future__ import annotations

import json
import time
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriver:
    def __init__(self, url: str, capabilities: dict, timeout_s: float = 60):
        self.url = url.rstrip("/")
        deadline = time.monotonic() + timeout_s
        while True:  # the driver takes a moment to listen
            try:
                self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})["sessionId"]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _call(self, method: str, path: str, body=None, timeout_s: float = 600):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            return json.loads(r.read())["value"]

    def cmd(self, method: str, path: str, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    def run(self, script: str, *args):
        """Run ``script`` (a function body; ``return`` gives the value, a Promise is awaited)."""
        return self.cmd("POST", "/execute/async", {"script": (
            "const done = arguments[arguments.length - 1];"
            f"Promise.resolve((async () => {{ {script} }})(...Array.from(arguments).slice(0, -1)))"
            ".then(done, (e) => done({error: String(e)}));"), "args": list(args)})

    def wait(self, script: str, *args, timeout_s: float = 300, poll_s: float = 1.0):
        """Poll ``script`` until it returns a truthy value; return that value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.run(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for: {script[:120]}")
            time.sleep(poll_s)

    def send_file(self, selector: str, path: str) -> None:
        element = self.cmd("POST", "/element", {"using": "css selector", "value": selector})[ELEMENT]
        self.cmd("POST", f"/element/{element}/value", {"text": path})

    def quit(self) -> None:
        try:
            self.cmd("DELETE", "")
        except OSError:
            pass
