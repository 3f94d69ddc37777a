"""An OpenAI-compatible upstream that answers each chat completion with the last user message it received,
so a test can see what the model was sent; a message `call TOOL: ARGS` is answered with a call of TOOL
whose arguments are {"text": ARGS}. Each message received is also written to standard error as a JSON line.
Prints its port, then serves until killed."""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Echo(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        last = [m for m in body.get("messages", []) if m.get("role") == "user"][-1]
        content = last["content"]
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content)
        print(json.dumps({"received": content}), file=sys.stderr, flush=True)
        message = {"role": "assistant", "content": f"you said: {content}"}
        tool, _, arguments = content.partition(": ")
        if tool.startswith("call ") and arguments:
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": tool[len("call "):], "arguments": json.dumps({"text": arguments})}}]}
        answer = json.dumps({
            "id": "chatcmpl-echo", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "echo"),
            "choices": [{"index": 0, "finish_reason": "tool_calls" if message["content"] is None else "stop",
                         "message": message}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Echo)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
