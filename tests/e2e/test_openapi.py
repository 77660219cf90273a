#!/usr/bin/python3
"""E2E: GET /openapi.json is valid OpenAPI 3 JSON and describes every route the
broker answers (checked against the routes docs/api.md documents)."""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase  # noqa: E402

API_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "api.md")


class OpenApiTest(E2ETestCase):
    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_document(self):
        r = self.env.http("GET", "/openapi.json")
        doc = self.assertJSONResponse(r, 200)
        self.assertTrue(doc["openapi"].startswith("3."))
        self.assertIn("title", doc["info"])
        # every "### `METHOD /path`" heading of docs/api.md is in the document
        with open(API_MD) as f:
            text = f.read()
        routes = re.findall(r"^### `([A-Z]+) (/[^`?]*)`(?:, `([A-Z]+) (/[^`?]*)`)?", text, re.M)
        self.assertTrue(routes)
        for m in routes:
            for method, path in ((m[0], m[1]), (m[2], m[3])):
                if not method:
                    continue
                path = path.rstrip()
                self.assertIn(path, doc["paths"], "%s %s is not in /openapi.json" % (method, path))
                self.assertIn(method.lower(), doc["paths"][path], "%s %s" % (method, path))
        # and each operation names its responses
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                self.assertTrue(op.get("responses"), "%s %s has no responses" % (method, path))


if __name__ == "__main__":
    harness.main()
