"""palisade_client against the real server: `PALISADE` names the binary (default: the repository's
target/release/palisade). The server runs the stock bundle with secrets denied on both paths, so a
stream can be denied too."""

import asyncio
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import grpc

from palisade_client import AsyncPalisade, Denied, Palisade, StreamResult

ROOT = Path(__file__).resolve().parents[3]
BINARY = os.environ.get("PALISADE", str(ROOT / "target" / "release" / "palisade"))
EMAIL = "ana.silva@example.com"
AWS_KEY = "AKIAZ7QW3RTY5UIO2PAS"


def chunk(content, finish=None):
    """An OpenAI chat completion chunk, as the SDK's `model_dump` gives it."""
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]}


class Server:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        bundle = Path(self.dir.name) / "bundle"
        subprocess.run([BINARY, "bundle", "export", str(bundle)], check=True, capture_output=True)
        manifest = bundle / "bundle.toml"
        text = manifest.read_text()
        secret = 'SECRET = { input = "deny", output = "redact" }'
        assert secret in text, "the stock bundle's SECRET line changed"
        manifest.write_text(text.replace(secret, 'SECRET = "deny"'))
        self.log = open(Path(self.dir.name) / "palisade.log", "w+")
        self.process = subprocess.Popen([BINARY, "serve", "--listen", "127.0.0.1:0", "--bundle", str(bundle)],
                                        stderr=self.log)
        self.addr = None
        for _ in range(300):
            self.log.seek(0)
            found = re.search(r"listening addr=(\S+)", self.log.read())
            if found:
                self.addr = found.group(1)
                break
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        if not self.addr:
            self.stop()
            raise RuntimeError(f"palisade did not start; its log:\n{self.log_text()}")

    def log_text(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()
        self.dir.cleanup()


def setUpModule():
    global server
    server = Server()


def tearDownModule():
    server.stop()


class Blocking(unittest.TestCase):
    def setUp(self):
        self.palisade = Palisade(server.addr)
        self.addCleanup(self.palisade.close)

    def test_a_prompt_with_an_email_comes_back_redacted_with_the_finding_but_not_the_value(self):
        result = self.palisade.check(f"Please mail {EMAIL} today", direction="input")
        self.assertEqual(result.decision, "modify")
        self.assertTrue(result.allowed and result.modified)
        self.assertEqual(result.text, "Please mail [EMAIL_ADDRESS] today")
        [finding] = [f for f in result.findings if f.category == "EMAIL_ADDRESS"]
        self.assertEqual((finding.plugin, finding.start, finding.end, finding.action), ("pii", 12, 33, "redact"))
        self.assertNotIn(EMAIL, repr(result.findings))
        self.assertTrue(result.bundle.startswith("default@"))

    def test_a_clean_text_is_allowed_as_it_is(self):
        result = self.palisade.check("What is the capital of France?")
        self.assertEqual((result.decision, result.text), ("allow", "What is the capital of France?"))

    def test_a_secret_is_denied_with_a_reason_that_does_not_repeat_it(self):
        result = self.palisade.check(f"deploy with {AWS_KEY}")
        self.assertTrue(result.denied)
        self.assertEqual(result.text, "")
        self.assertIn("secrets", result.reason)
        self.assertNotIn(AWS_KEY, result.reason)

    def test_a_chat_body_is_read_by_its_shape_and_returned_rewritten(self):
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": f"mail {EMAIL}"}]}
        result = self.palisade.check_body(body, principal="spiffe://example.org/agent",
                                          destination="https://api.openai.com", labels=["beta"])
        self.assertEqual(result.decision, "modify")
        self.assertEqual(json.loads(result.body)["messages"][0]["content"], "mail [EMAIL_ADDRESS]")
        self.assertEqual(result.findings[0].location, "/messages/0/content")

    def test_a_raw_stream_is_released_redacted_even_when_a_value_is_split_across_chunks(self):
        ended = StreamResult()
        released = b"".join(self.palisade.check_stream(["Write to ana.sil", "va@exam", "ple.com soon."],
                                                       result=ended))
        self.assertEqual(released, b"Write to [EMAIL_ADDRESS] soon.")
        self.assertEqual(ended.decision, "modify")
        self.assertEqual([f.category for f in ended.findings], ["EMAIL_ADDRESS"])

    def test_an_openai_sdk_stream_is_guarded_event_by_event(self):
        events = [chunk("Reach the admin at ro"), chunk("ot@example"), chunk(".net for it."), chunk(None, "stop")]
        out = list(self.palisade.guard_stream(events))
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in out if e.get("choices"))
        self.assertEqual(text, "Reach the admin at [EMAIL_ADDRESS] for it.")
        self.assertNotIn("root@", repr(out))
        self.assertEqual(out[-1]["choices"][0]["finish_reason"], "stop")

    def test_a_denied_stream_raises_and_releases_nothing_after_the_secret(self):
        events = [chunk("Your key is "), chunk(AWS_KEY), chunk(", keep it safe.")]
        out = []
        with self.assertRaises(Denied) as denied:
            for event in self.palisade.guard_stream(events):
                out.append(event)
        self.assertIn("SECRET", denied.exception.reason)
        self.assertNotIn(AWS_KEY, repr(out) + denied.exception.reason)

    def test_a_direction_that_is_not_one_is_refused_before_any_call(self):
        with self.assertRaisesRegex(ValueError, "'sideways' is not 'input' or 'output'"):
            self.palisade.check("x", direction="sideways")

    def test_an_unreachable_server_is_grpcs_unavailable(self):
        with Palisade("127.0.0.1:9", timeout=2) as nobody:
            with self.assertRaises(grpc.RpcError) as failed:
                nobody.check("x")
        self.assertEqual(failed.exception.code(), grpc.StatusCode.UNAVAILABLE)


class Async(unittest.TestCase):
    def test_the_async_client_checks_texts_and_guards_streams(self):
        async def run():
            async with AsyncPalisade(server.addr) as palisade:
                result = await palisade.check(f"mail {EMAIL}")
                self.assertEqual(result.text, "mail [EMAIL_ADDRESS]")
                body = await palisade.check_body(b'{"messages":[{"role":"user","content":"hi"}]}')
                self.assertEqual(body.decision, "allow")

                async def events():
                    for c in [chunk("mail ana.si"), chunk("lva@example.com"), chunk(None, "stop")]:
                        yield c

                out = [e async for e in palisade.guard_stream(events())]
                text = "".join(e["choices"][0]["delta"].get("content") or "" for e in out)
                self.assertEqual(text, "mail [EMAIL_ADDRESS]")
                with self.assertRaises(Denied):
                    async for _ in palisade.check_stream([f"key {AWS_KEY} here"]):
                        pass

        asyncio.run(run())


if __name__ == "__main__":
    unittest.main()
