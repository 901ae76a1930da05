"""A small client for a running Jupyter server's REST and kernel websocket APIs (for tests)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from typing import Any, Dict, List, Optional


def api(base: str, token: str, path: str, method: str = "GET", body: Optional[Dict[str, Any]] = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)
    request.add_header("Authorization", f"token {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else None


async def _execute(ws_url: str, token: str, code: str, timeout: float) -> str:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    request = HTTPRequest(ws_url, headers={"Authorization": f"token {token}"})
    connection = await websocket_connect(request)
    msg_id = uuid.uuid4().hex
    message = {
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }
    await connection.write_message(json.dumps(message))
    output: List[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        raw = await asyncio.wait_for(connection.read_message(), timeout=deadline - loop.time())
        if raw is None:
            break
        reply = json.loads(raw)
        if reply.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = reply["msg_type"]
        if kind == "stream":
            output.append(reply["content"]["text"])
        elif kind == "error":
            output.append("ERROR: " + reply["content"]["evalue"])
        elif kind == "status" and reply["content"]["execution_state"] == "idle":
            break
    connection.close()
    return "".join(output)


def execute(base: str, token: str, code: str, kernel_name: Optional[str] = None, timeout: float = 90) -> str:
    """Start a kernel through the server (its default one unless named), run ``code``, return its output."""
    body = {"name": kernel_name} if kernel_name else {}
    kernel = api(base, token, "/api/kernels", "POST", body)
    try:
        ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel['id']}/channels"
        return asyncio.run(_execute(ws_url, token, code, timeout))
    finally:
        api(base, token, f"/api/kernels/{kernel['id']}", "DELETE")
