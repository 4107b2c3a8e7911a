"""greenswitch (PyPI) under the same workload as examples/esl_client_bench.rs, one connection:

    python greenswitch_bench.py bgapi HOST PORT N      N sequential `bgapi status` round trips
    python greenswitch_bench.py events HOST PORT SECS  CUSTOM fsim::load events received in SECS s

Prints `RESULT <per second>`. bench/run installs greenswitch into a venv under bench/.deps.
"""
import sys
import time
import uuid

import gevent
import gevent.event
from greenswitch.esl import InboundESL


def main():
    mode, host, port, arg = sys.argv[1:5]
    n = int(arg)
    con = InboundESL(host, int(port), "ClueCon")
    con.connect()
    if mode == "bgapi":
        waiting = {}

        def on_job(ev):
            result = waiting.pop(ev.headers.get("Job-UUID"), None)
            if result is not None:
                result.set(ev)

        con.register_handle("BACKGROUND_JOB", on_job)
        con.send("event plain BACKGROUND_JOB")
        started = time.perf_counter()
        for _ in range(n):
            job = str(uuid.uuid4())
            result = gevent.event.AsyncResult()
            waiting[job] = result
            con.send("bgapi status\nJob-UUID: %s" % job)
            result.get(timeout=10)
        print("RESULT %d" % round(n / (time.perf_counter() - started)), flush=True)
    elif mode == "events":
        state = {"counting": False, "counted": 0}

        def on_load(_ev):
            if state["counting"]:
                state["counted"] += 1

        con.register_handle("fsim::load", on_load)
        con.send("event plain CUSTOM fsim::load")
        gevent.sleep(1)
        # The rate uses the clock, not the sleep: a busy reader greenlet wakes sleepers late.
        state["counting"] = True
        since = time.perf_counter()
        gevent.sleep(n)
        counted, secs = state["counted"], time.perf_counter() - since
        print("RESULT %d" % round(counted / secs), flush=True)
    else:
        sys.exit("usage: greenswitch_bench.py bgapi|events HOST PORT N|SECS")
    sys.stdout.flush()
    # The library's reader greenlet blocks on the socket; leave without a goodbye.
    import os
    os._exit(0)


if __name__ == "__main__":
    main()
