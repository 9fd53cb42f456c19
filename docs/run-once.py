"""Run a Strata function binary once on one event, under a minimal Lambda Runtime API on loopback.

Usage: python3 docs/run-once.py target/debug/provisioner /tmp/create.json

For practising on the emulator (docs/operations.md): `cargo lambda watch` hands functions a fixed deadline of
600,000 ms after the epoch, which the provisioner reads as "no time left" (it answers FAILED, "timed out after
0ns"). This gives the function 15 minutes, as the deployed provisioner has. The function's environment is this
process's (AWS_ENDPOINT_URL, AWS_REGION, credentials, STRATA_*). Its log lines go to standard error; its answer
is printed on standard output. Exits 1 if the function failed.
"""

import http.server
import os
import subprocess
import sys
import threading
import time


def main():
    binary, event_path = sys.argv[1], sys.argv[2]
    event = open(event_path, "rb").read()
    name = os.path.basename(binary)
    done = threading.Event()
    outcome = {}

    class RuntimeApi(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # /2018-06-01/runtime/invocation/next
            if outcome.get("handed_out"):
                done.wait()  # one event only: leave the next poll hanging, as Lambda does
                return
            outcome["handed_out"] = True
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "run-once-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 900_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:us-east-1:123456789012:function:{name}")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(event)

        def do_POST(self):  # .../response or .../error
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            self.send_response(202)
            self.end_headers()
            outcome["failed"] = self.path.endswith("/error")
            outcome["body"] = body
            done.set()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(
        os.environ,
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
        AWS_LAMBDA_FUNCTION_NAME=name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{name}",
        AWS_LAMBDA_LOG_STREAM_NAME="run-once",
    )
    function = subprocess.Popen([binary], env=env, stdout=sys.stderr, stderr=sys.stderr)
    while not done.wait(0.2):
        if function.poll() is not None:
            sys.exit(f"{name} exited with {function.returncode} before answering")
    function.kill()
    function.wait()
    print(outcome["body"])
    sys.exit(1 if outcome["failed"] else 0)


if __name__ == "__main__":
    main()
