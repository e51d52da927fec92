#!/usr/bin/python3
"""Measures an HTML report in headless Chromium through the DevTools protocol.

usage: browser.py [--palette] CHROMIUM PAGE.html OUT_PREFIX WIDTH...

For each width it loads the page (a phone's viewport for widths under 600),
measures it with a script run through Runtime.evaluate (the page's own
Content-Security-Policy forbids scripts; DevTools evaluation is not a page
script, and the measurement checks that the policy still holds), writes
OUT_PREFIX-WIDTH.png (the whole page) and prints one JSON object per width
on stdout. --palette writes the screenshots with a 256-colour palette (a
fifth of the size, for committing them) where python3-pil is installed. Exit
status: 0, 1 when the browser fails, 77 when python3's websocket module
(Debian python3-websocket) is missing.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import websocket
except ImportError:
    print("skipped: python3-websocket not installed", file=sys.stderr)
    sys.exit(77)

TIMEOUT = 60

# What the checks need, measured in the page. Every table's container and
# every cell: scrollWidth beyond clientWidth means something is cut off or
# scrolls. Chart labels: their rendered font size.
MEASURE = r"""
(() => {
  const px = (el) => parseFloat(getComputedStyle(el).fontSize);
  const out = {width: innerWidth, height: document.documentElement.scrollHeight,
               pageScroll: document.documentElement.scrollWidth - innerWidth,
               tables: [], cells: [], toc: [], missing: [], cards: [], rated: [],
               smallText: [], sections: [], scriptRan: false};
  // The policy: an inline script added now must not run.
  const s = document.createElement('script');
  s.textContent = 'window.__csp_broken = 1';
  document.body.appendChild(s);
  out.scriptRan = window.__csp_broken === 1;
  s.remove();
  for (const t of document.querySelectorAll('table')) {
    const c = t.parentElement;
    const sec = t.closest('section');
    out.tables.push({section: sec ? sec.id : '', container: c.className,
                     over: c.scrollWidth - c.clientWidth,
                     right: Math.round(t.getBoundingClientRect().right - c.getBoundingClientRect().right)});
  }
  for (const cell of document.querySelectorAll('td, th')) {
    const over = cell.scrollWidth - cell.clientWidth;
    if (over > 1 && cell.getClientRects().length) {
      const sec = cell.closest('section');
      out.cells.push({section: sec ? sec.id : '', over, text: cell.textContent.slice(0, 60)});
    }
  }
  for (const a of document.querySelectorAll('nav a[href^="#"]')) {
    const id = decodeURIComponent(a.getAttribute('href').slice(1));
    out.toc.push(id);
    if (!document.getElementById(id)) out.missing.push(id);
  }
  for (const sec of document.querySelectorAll('section')) out.sections.push(sec.id);
  out.h3 = document.querySelectorAll('section > h3').length;
  out.tables_total = document.querySelectorAll('table').length;
  for (const c of document.querySelectorAll('.card')) {
    const big = c.querySelector('.big');
    out.cards.push({id: c.id, cls: c.className, text: c.textContent.slice(0, 80),
                    color: big ? getComputedStyle(big).color : '',
                    border: getComputedStyle(c).borderLeftColor});
  }
  for (const el of document.querySelectorAll('[data-rate]')) {
    const sec = el.closest('section');
    const fill = el.querySelector('.fill') || el;
    out.rated.push({section: sec ? sec.id : '', key: el.getAttribute('data-key') || '',
                    rate: el.getAttribute('data-rate'), tag: el.tagName.toLowerCase(),
                    color: el.matches('tr') ? getComputedStyle(el.firstElementChild).borderLeftColor
                                            : getComputedStyle(fill).backgroundColor,
                    fillWidth: fill.getBoundingClientRect().width});
  }
  // Visible text smaller than 11 px, SVG text scaled with its chart included.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode, el = n.parentElement;
    if (!n.textContent.trim() || !el || !el.getClientRects().length) continue;
    if (el.closest('details:not([open])') || el.closest('title')) continue;
    let size = px(el);
    const svg = el.closest('svg');
    if (svg && svg.viewBox.baseVal && svg.viewBox.baseVal.width)
      size *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    if (size < 10.95) out.smallText.push({size: Math.round(size * 10) / 10,
                                          text: n.textContent.trim().slice(0, 40)});
  }
  return out;
})()
"""


class Browser:
    def __init__(self, exe):
        self.profile = tempfile.mkdtemp(prefix="smtptls-chromium-")
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--hide-scrollbars", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = self._devtools_url()
        self.ws = websocket.create_connection(url, timeout=TIMEOUT)
        self.next_id = 0
        self.events = []

    def _devtools_url(self):
        deadline = time.time() + TIMEOUT
        seen = []
        while time.time() < deadline:
            line = self.proc.stderr.readline().decode(errors="replace")
            if not line:
                break
            seen.append(line)
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                return m.group(1)
        raise RuntimeError("chromium did not start: " + "".join(seen[-5:]))

    def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method, session):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    del self.events[i]
                    return ev
            self.events.append(json.loads(self.ws.recv()))
        raise RuntimeError("no " + method)

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def save_png(data, png, palette):
    with open(png, "wb") as f:
        f.write(data)
    if not palette:
        return
    try:
        from PIL import Image
    except ImportError:
        return
    img = Image.open(png).convert("RGB")
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)


def measure(b, page, width, png, palette):
    target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    b.call("Page.enable", session=s)
    b.call("Emulation.setDeviceMetricsOverride",
           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
           session=s)
    b.call("Page.navigate", {"url": "file://" + os.path.abspath(page)}, session=s)
    b.wait_event("Page.loadEventFired", s)
    r = b.call("Runtime.evaluate", {"expression": MEASURE, "returnByValue": True}, session=s)
    if "exceptionDetails" in r:
        raise RuntimeError("measuring script: %s" % r["exceptionDetails"])
    m = r["result"]["value"]
    m["evaluate"] = True
    shot = b.call("Page.captureScreenshot",
                  {"format": "png", "captureBeyondViewport": True,
                   "clip": {"x": 0, "y": 0, "width": width, "height": m["height"], "scale": 1}},
                  session=s)
    save_png(base64.b64decode(shot["data"]), png, palette)
    b.call("Target.closeTarget", {"targetId": target})
    return m


def main():
    args = sys.argv[1:]
    palette = bool(args) and args[0] == "--palette"
    args = args[1:] if palette else args
    if len(args) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    exe, page, prefix = args[:3]
    b = Browser(exe)
    try:
        for w in args[3:]:
            m = measure(b, page, int(w), "%s-%s.png" % (prefix, w), palette)
            print(json.dumps(m))
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
