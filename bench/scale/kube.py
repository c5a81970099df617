"""A small Kubernetes API client for the scale harness: bearer token, one keep-alive HTTPS connection per thread,
JSON in and out, and a watch stream read line by line. Only the standard library, so the harness runs wherever
python3 does (the lab's serving certificate is self-signed: it is not verified, on 127.0.0.1 only)."""
import http.client
import json
import ssl
import threading


class ApiError(Exception):
    def __init__(self, method, path, status, body):
        super().__init__("%s %s: HTTP %d: %s" % (method, path, status, body[:300]))
        self.status = status


class Api:
    def __init__(self, port, token, timeout=30):
        self.port, self.token, self.timeout = port, token, timeout
        self.ctx = ssl._create_unverified_context()
        self.local = threading.local()

    def _connection(self, fresh=False):
        conn = getattr(self.local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=self.timeout)
            self.local.conn = conn
        return conn

    def call(self, method, path, body=None, content_type="application/json", ok=(200, 201, 202)):
        """One request; returns the decoded answer. A dropped keep-alive connection is reopened once."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt == 1)
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                if attempt == 1:
                    raise
        if resp.status not in ok:
            raise ApiError(method, path, resp.status, raw.decode(errors="replace"))
        return json.loads(raw) if raw else None

    def watch(self, path, on_event, stop, timeout_seconds=900):
        """Streams `path` (a collection URL with watch=1) and calls on_event(type, object) per line until the
        server ends the stream or another thread calls stop_watch(). Runs in the calling thread."""
        sep = "&" if "?" in path else "?"
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx)
        conn.request("GET", "%s%swatch=1&timeoutSeconds=%d" % (path, sep, timeout_seconds),
                     headers={"Authorization": "Bearer " + self.token})
        resp = conn.getresponse()
        if resp.status != 200:
            raise ApiError("WATCH", path, resp.status, resp.read().decode(errors="replace"))
        stop.conn = conn
        try:
            while not stop.is_set():
                try:
                    line = resp.readline()
                except (OSError, ValueError, http.client.HTTPException):
                    if stop.is_set():
                        break  # stop_watch closed the socket under us
                    raise
                if not line:
                    break
                event = json.loads(line)
                obj = event.get("object", {})
                if event.get("type") == "ERROR":
                    raise ApiError("WATCH", path, obj.get("code", 0), obj.get("message", ""))
                on_event(event["type"], obj)
        finally:
            conn.close()


def stop_watch(stop):
    """Ends a watch() running in another thread: sets `stop` and shuts its socket so the blocked read returns."""
    stop.set()
    conn = getattr(stop, "conn", None)
    if conn is not None and conn.sock is not None:
        try:
            conn.sock.shutdown(2)
        except OSError:
            pass


def from_lab(pki_dir, port):
    with open(pki_dir + "/admin.token") as f:
        return Api(port, f.read().strip())
