# SPDX-License-Identifier: Apache-2.0
"""Check answers of the items API against its OpenAPI document, docs/openapi.json.

An answer is looked up by the path below the mount point (`/` or `/{id}`, else the
document's `x-other-paths`) and the method (an operation, else the path's
`x-other-methods`). Its status must be documented there; every header documented as
required must be present, and every documented header that is present must match its
schema; a documented body must come with a documented media type and validate against
its schema (JSON Schema 2020-12, $refs resolved in the document); an undocumented body
must be empty. HEAD answers have no body to check.

`patch_requests()` makes every `requests` call of the test process check what it gets
back from a path below a mount point on a loopback server, and fail (AssertionError) at
the call that got an answer the document does not describe.
"""
import json
import os
import re
import threading
from urllib.parse import urlsplit

import jsonschema

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCUMENT = os.path.join(ROOT, "docs", "openapi.json")
# Where conf/httpd.conf mounts the items handler.
MOUNTS = ("/items",)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
BASE_URI = "http://mod-items.invalid/openapi.json"
METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")
ID_SEGMENT = re.compile(r"/[^/]+")


def _escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


class OpenAPIChecker:
    def __init__(self, path=DOCUMENT):
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self._validators = {}
        self._lock = threading.Lock()
        self._make_validator = self._validator_factory()

    # --- the document -----------------------------------------------------------------

    def _validator_factory(self):
        cls = jsonschema.Draft202012Validator
        try:  # jsonschema >= 4.18
            from referencing import Registry
            from referencing.jsonschema import DRAFT202012
            registry = Registry().with_resource(BASE_URI, DRAFT202012.create_resource(self.doc))
            return lambda pointer: cls({"$ref": f"{BASE_URI}#{pointer}"}, registry=registry)
        except ImportError:  # Debian 12's 4.10
            def make(pointer):
                resolver = jsonschema.RefResolver(BASE_URI, self.doc)
                return cls({"$ref": f"{BASE_URI}#{pointer}"}, resolver=resolver)
            return make

    def node(self, pointer):
        node = self.doc
        for token in pointer.split("/")[1:]:
            node = node[int(token)] if isinstance(node, list) else node[_unescape(token)]
        return node

    def deref(self, pointer):
        """(pointer, node) after following OpenAPI $refs (response, header, parameter objects)."""
        node = self.node(pointer)
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), f"{pointer}: only local $refs are supported, not {ref}"
            assert ref not in seen, f"{pointer}: $ref loop at {ref}"
            seen.add(ref)
            pointer = ref[1:]
            node = self.node(pointer)
        return pointer, node

    def validate(self, pointer, instance):
        """Error messages (empty when valid) of instance against the schema at pointer."""
        with self._lock:
            v = self._validators.get(pointer)
            if v is None:
                v = self._validators[pointer] = self._make_validator(pointer)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in v.iter_errors(instance)]

    # --- lookups ----------------------------------------------------------------------

    def responses_for(self, method, rel):
        """(what, pointer of the responses object) for a method and a path below the mount."""
        if rel in ("", "/"):
            template = "/"
        elif ID_SEGMENT.fullmatch(rel):
            template = "/{id}"
        else:
            return f"{method} (other path {rel})", "/x-other-paths/responses"
        base = f"/paths/{_escape(template)}"
        item = self.node(base)
        m = method.lower()
        if m in METHODS and m in item:
            return f"{method} {template}", f"{base}/{m}/responses"
        return f"{method} {template} (x-other-methods)", f"{base}/x-other-methods/responses"

    # --- the check ----------------------------------------------------------------------

    def problems(self, method, rel, status, headers, body):
        """What is wrong with an answer, as a list of messages (empty: it matches)."""
        what, responses_ptr = self.responses_for(method, rel)
        responses = self.node(responses_ptr)
        code = str(status)
        key = next((k for k in (code, code[0] + "XX", "default") if k in responses), None)
        if key is None:
            return [f"{what}: status {status} is not documented (documented: "
                    f"{', '.join(sorted(responses))})"]
        ptr, response = self.deref(f"{responses_ptr}/{_escape(key)}")
        out = []
        for name in response.get("headers", {}):
            hptr, header = self.deref(f"{ptr}/headers/{_escape(name)}")
            value = headers.get(name)
            if value is None:
                if header.get("required"):
                    out.append(f"{what} {status}: required header {name} is missing")
                continue
            if "schema" in header:
                out += [f"{what} {status}: header {name}: {value!r}: {m}"
                        for m in self.validate(f"{hptr}/schema", value)]
        content = response.get("content")
        if method.upper() == "HEAD":
            return out
        if not content:
            if body:
                out.append(f"{what} {status}: a body ({len(body)} bytes) where none is documented")
            return out
        ctype = headers.get("Content-Type")
        media = ctype.split(";")[0].strip().lower() if ctype else None
        if media not in content:
            return out + [f"{what} {status}: Content-Type {ctype!r} is not documented "
                          f"(documented: {', '.join(content)})"]
        schema_ptr = f"{ptr}/content/{_escape(media)}/schema"
        if "schema" not in content[media]:
            return out
        try:
            instance = json.loads(body)
        except ValueError as e:
            return out + [f"{what} {status}: the {media} body is not JSON ({e}): {body[:200]!r}"]
        out += [f"{what} {status}: body {m}" for m in self.validate(schema_ptr, instance)]
        return out

    def check_response(self, resp):
        """Raise AssertionError if a requests.Response from the items API is not documented."""
        url = urlsplit(resp.request.url)
        if url.hostname not in LOOPBACK:
            return
        for mount in MOUNTS:
            if url.path == mount or url.path.startswith(mount + "/"):
                rel = url.path[len(mount):]
                break
        else:
            return
        found = self.problems(resp.request.method, rel, resp.status_code, resp.headers,
                              resp.content)
        if found:
            raise AssertionError(
                f"the answer to {resp.request.method} {resp.request.url} does not match "
                f"docs/openapi.json:\n  " + "\n  ".join(found))


    def check_raw(self, request, status, headers, body):
        """The same for an exchange made on a raw socket: the request's bytes, the answer's
        status, headers (any case) and body."""
        from requests.structures import CaseInsensitiveDict

        line = request.split(b"\r\n", 1)[0].split(b" ")
        method, target = line[0].decode("latin-1"), line[1].decode("latin-1") if len(line) > 1 else "/"
        path = urlsplit(target).path
        for mount in MOUNTS:
            if path == mount or path.startswith(mount + "/"):
                break
        else:
            return
        found = self.problems(method, path[len(mount):], status, CaseInsensitiveDict(headers), body)
        if found:
            raise AssertionError(f"the answer to {method} {target} does not match "
                                 f"docs/openapi.json:\n  " + "\n  ".join(found))


_checker = None


def checker():
    global _checker
    if _checker is None:
        _checker = OpenAPIChecker()
    return _checker


def patch_requests():
    """Check every answer that requests.Session.send returns; returns the undo function."""
    import requests

    original = requests.Session.send
    check = checker()

    def send(self, request, **kwargs):
        resp = original(self, request, **kwargs)
        # Redirects are sent (and checked) by nested calls: each answer once.
        if not getattr(resp, "_items_openapi_checked", False):
            resp._items_openapi_checked = True
            if not kwargs.get("stream"):
                check.check_response(resp)
        return resp

    requests.Session.send = send

    def undo():
        requests.Session.send = original
    return undo
