"""One operation of the Databricks Python SDK, configured only from the environment and
~/.databrickscfg, as a later workflow step would be. Prints one JSON line; exits 1 on failure.

    python client.py me|account|version
    python client.py long SECONDS INTERVAL   (one client calling "me" again and again, as a long job)
"""

import json
import sys

import requests

# The SDK's errors do not carry the HTTP status, so remember the last response it received: when a
# call fails, that response is the one that made it fail.
_last_status = None
_send = requests.Session.send


def _recording_send(self, request, **kwargs):
    global _last_status
    response = _send(self, request, **kwargs)
    _last_status = response.status_code
    return response


requests.Session.send = _recording_send


def run(operation):
    if operation == "version":
        from databricks.sdk.version import __version__

        return {"ok": True, "version": __version__}
    if operation == "me":
        from databricks.sdk import WorkspaceClient

        return {"ok": True, "userName": WorkspaceClient().current_user.me().user_name}
    if operation == "account":
        from databricks.sdk import AccountClient

        return {"ok": True, "count": len(list(AccountClient().workspaces.list()))}
    if operation == "long":
        return long_job(float(sys.argv[2]), float(sys.argv[3]))
    raise ValueError(f"unknown operation {operation!r}: expected me, account, long or version")


def long_job(seconds, interval):
    """One WorkspaceClient, as one long-running process holds it, asking who it is every
    `interval` seconds for `seconds`: every call must succeed, across token lifetimes."""
    import time

    from databricks.sdk import WorkspaceClient

    client = WorkspaceClient()
    calls, failures, first_error = 0, 0, None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        calls += 1
        try:
            client.current_user.me()
        except Exception as error:  # counted; the first one is reported
            failures += 1
            first_error = first_error or describe(error)
        time.sleep(interval)
    result = {"ok": failures == 0, "calls": calls, "failures": failures}
    if first_error:
        result["error"] = first_error
    return result


def describe(error):
    """The error and its causes: the SDK's retry gives up with a TimeoutError whose cause is the
    connection failure."""
    parts = []
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        part = f"{type(error).__name__}: {error}"
        if part not in parts:
            parts.append(part)
        error = error.__cause__ or error.__context__
    return " <- ".join(parts)


def main():
    operation = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        result = run(operation)
    except Exception as error:  # every failure becomes the one JSON line the caller reads
        result = {"ok": False, "error": describe(error)}
        if _last_status is not None and _last_status >= 400:
            result["status"] = _last_status
        print(json.dumps(result), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
