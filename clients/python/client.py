"""One operation of the Databricks Python SDK, configured only from the environment and
~/.databrickscfg, as a later workflow step would be. Prints one JSON line; exits 1 on failure.

    python client.py me|account|version
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
    raise ValueError(f"unknown operation {operation!r}: expected me, account or version")


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
