"""The seed's FastAPI service, with its work handed to jobq.

The service jobq grew from ran its work in-process: emails through BackgroundTasks, a
long task whose progress it kept in a dict, a sha256 in the request, a WebSocket fed by
the same process. Here every piece of work is a jobq job, stored by the broker over HTTP
(POST /jobs) and run by jobq's workers, so the routes answer at once, the work survives
a restart of this service, and any number of workers share it. The routes and their
answers are the seed's:

    POST /send-notification?email=&content=   {"message": "Notification sent in the background", "task_id": N}
    POST /send-notification-sync?...          the same; the worker sends on its thread pool
    POST /start-task?duration=N               {"task_id": N, "status": "pending"}
    GET  /task-status/{task_id}               {"task_id": N, "status": "progress: 2/5"} (or pending,
                                              running, completed, failed: <reason>, cancelled, not_found)
    POST /compute-hash?data=&repeat=N         {"task_id": N, "status": "pending"}
    GET  /task-result/{task_id}               {"task_id": N, "status": ..., "result": {"sha256": ...}}
    WS   /ws/{client_id}                      {"type": "subscribe", "job_id": N} -> the job's events

Settings: JOBQ_URL (the broker, default http://127.0.0.1:8000), JOBQ_TOKEN (an API token
with the enqueue and read scopes, when the broker asks for one).

Run: JOBQ_URL=http://127.0.0.1:8000 python3 -m uvicorn app:app --app-dir examples/fastapi
(Debian 12: apt-get install python3-fastapi python3-uvicorn python3-websockets)."""
import asyncio
import json
import os
import urllib.error
import urllib.parse
import urllib.request

import websockets
from fastapi import FastAPI, Header, HTTPException, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

JOBQ_URL = os.environ.get("JOBQ_URL", "http://127.0.0.1:8000").rstrip("/")
JOBQ_TOKEN = os.environ.get("JOBQ_TOKEN", "")
TIMEOUT_S = 10

app = FastAPI(title="seed service on jobq")


class JobqError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _request(method, path, body=None, headers=None):
    """One request to the broker: (status, parsed JSON body). Raises JobqError when the
    broker cannot be reached or answers an error."""
    h = {"Accept": "application/json"}
    if JOBQ_TOKEN:
        h["Authorization"] = "Bearer " + JOBQ_TOKEN
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(JOBQ_URL + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            err = json.loads(e.read())["error"]
            code, message = err["code"], err["message"]
        except (ValueError, KeyError, TypeError):
            code, message = "http_error", "jobq answered HTTP %d" % e.code
        raise JobqError(e.code, code, message) from None
    except (OSError, ValueError) as e:
        raise JobqError(503, "jobq_unavailable", "jobq at %s: %s" % (JOBQ_URL, e)) from None


async def jobq(method, path, body=None, headers=None):
    """_request off the event loop (urllib blocks)."""
    return await run_in_threadpool(_request, method, path, body, headers)


async def enqueue(job, idempotency_key=None):
    """POST /jobs: the new job's id. A repeated Idempotency-Key answers the first job."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    try:
        _, answer = await jobq("POST", "/jobs", job, headers)
    except JobqError as e:
        raise HTTPException(e.status if e.status < 500 else 503,
                            detail={"code": e.code, "message": e.message}) from None
    return answer["id"]


async def job_or_none(task_id):
    """GET /jobs/{id}, or None for a job jobq does not know (or no longer keeps)."""
    try:
        _, job = await jobq("GET", "/jobs/%d" % task_id)
    except JobqError as e:
        if e.status == 404:
            return None
        raise HTTPException(503, detail={"code": e.code, "message": e.message}) from None
    return job


# ---- the seed's routes ----

async def notify(email, content, sync, key):
    task_id = await enqueue({"type": "email", "payload": {
        "to": email, "subject": "Notification", "body": content, "sync": sync}}, key)
    return {"message": "Notification sent in the background", "task_id": task_id}


@app.post("/send-notification")
async def send_notification(email: str, content: str,
                            idempotency_key: str = Header(None)):
    return await notify(email, content, False, idempotency_key)


@app.post("/send-notification-sync")
async def send_notification_sync(email: str, content: str,
                                 idempotency_key: str = Header(None)):
    return await notify(email, content, True, idempotency_key)


@app.post("/start-task")
async def start_task(duration: int = Query(10, ge=0, le=86400),
                     idempotency_key: str = Header(None)):
    task_id = await enqueue({"type": "progress", "payload": {"duration": duration}},
                            idempotency_key)
    return {"task_id": task_id, "status": "pending"}


@app.get("/task-status/{task_id}")
async def task_status(task_id: int):
    job = await job_or_none(task_id)
    return {"task_id": task_id, "status": job["status"] if job else "not_found"}


@app.post("/compute-hash")
async def compute_hash(data: str, repeat: int = Query(1, ge=1, le=10000000),
                       idempotency_key: str = Header(None)):
    task_id = await enqueue({"type": "hash", "payload": {"data": data, "repeat": repeat}},
                            idempotency_key)
    return {"task_id": task_id, "status": "pending"}


@app.get("/task-result/{task_id}")
async def task_result(task_id: int):
    job = await job_or_none(task_id)
    if job is None:
        return {"task_id": task_id, "status": "not_found", "result": None}
    return {"task_id": task_id, "status": job["status"], "result": job["result"]}


@app.websocket("/ws/{client_id}")
async def ws(websocket: WebSocket, client_id: str):
    """The client's WebSocket, relayed both ways to jobq's own (GET /ws/{client_id}):
    {"type": "subscribe", "job_id": N} or {"type": "subscribe", "queue": "name"} in,
    the jobs' events out, as jobq sends them (docs/api.md, GET /ws)."""
    await websocket.accept()
    u = urllib.parse.urlsplit(JOBQ_URL)
    target = "%s://%s/ws/%s" % ("wss" if u.scheme == "https" else "ws", u.netloc,
                               urllib.parse.quote(client_id, safe=""))
    headers = {"Authorization": "Bearer " + JOBQ_TOKEN} if JOBQ_TOKEN else None
    try:
        upstream = await websockets.connect(target, extra_headers=headers, open_timeout=TIMEOUT_S)
    except (OSError, websockets.WebSocketException, asyncio.TimeoutError) as e:
        await websocket.send_json({"type": "error", "error": {
            "code": "jobq_unavailable", "message": "jobq at %s: %s" % (JOBQ_URL, e)}})
        await websocket.close(code=1011)
        return

    async def to_jobq():
        while True:
            await upstream.send(await websocket.receive_text())

    async def from_jobq():
        async for message in upstream:
            await websocket.send_text(message)

    tasks = [asyncio.ensure_future(to_jobq()), asyncio.ensure_future(from_jobq())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except WebSocketDisconnect:
        pass
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await upstream.close()
        try:
            await websocket.close()
        except RuntimeError:
            pass  # the client had closed it
