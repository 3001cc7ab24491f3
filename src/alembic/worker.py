"""db-migrate's Alembic worker: one Python process that serves many Alembic calls.

Run by db-migrate as `<launcher> -c <this text>` in the workspace root, so it has the same
interpreter, sys.path and env.py as `<launcher> -m alembic` by hand. Starting Python and importing
a large env.py's models costs seconds; here they are imported once and stay warm, while env.py and
the revision files are still executed for every request, exactly as Alembic does (ScriptDirectory
loads them with `load_python_file`, a fresh module each time, never cached in sys.modules).

Requests, one JSON object per line on stdin:

    {"id": 1, "op": "upgrade", "ini": "alembic.ini", "target": "abc"}
    op: upgrade | downgrade | stamp (target; "sql": true for offline SQL, "tag"; stamp "purge")
        current ("verbose")        sql: `upgrade <target> --sql`, target `A:B`
        revision ("message"; "head": the revision to write it on; "autogenerate": true)
        "x": ["k=v", ...] is Alembic's `-x` for env.py.
    {"id": 2, "op": "python", "script": "<text>", "args": ["alembic.ini"]}
        runs one of db-migrate's own scripts (the drift comparison) as `<launcher> -c <text>
        ARGS...` would: `__name__ == "__main__"`, sys.argv `["-c", ARGS...]`, its own imports
        warm too. No "ini" needed.

Answers, on the real stdout (a private copy of fd 1; fd 1 itself then points at stderr, so
nothing a migration or a C extension writes can reach the answers):

    @@db-migrate-worker-ready {"pid": ..., "alembic": "1.13.3", "python": "3.11.2"}
    @@db-migrate-worker-line {"id": 1, "stream": "stderr", "line": "INFO  [alembic...] ...",
                              "complete": true}       each line Alembic writes, as it writes it
    @@db-migrate-worker-done {"id": 1, "exit": 0, "stdout": [...], "stderr": [...],
                              "env_py_runs": 1, "imported": [...], "state": [...]}

`exit` is what `python -m alembic` would have exited with: 0; 255 for a CommandError (`FAILED:
<msg>` on stdout, Alembic's `ERROR [alembic.util.messaging]` log line on stderr); 1 with the
traceback on stderr for any other exception; a migration's own `sys.exit(n)` gives n; 2 for a
request this script cannot read. Right after the done line the worker writes
`@@db-migrate-worker-sync <id>` on the real stderr: whatever reached fd 2 for that request
(a subprocess, a C extension) came before it.

A migration's `input()` reads /dev/null (EOF), as Alembic's with stdin null: the requests come on
a private copy of fd 0, and fd 0 is /dev/null. A request interrupted by SIGINT is answered (exit
130, `"interrupted": true`) and the worker then exits. `os._exit()` or a crash ends the process
without a done line: db-migrate reports that request as failed. EOF on stdin ends the worker.

What one process cannot make identical to one process per call, and what is done about it:
- modules env.py imports (the models) run their module-level code once, on the first request.
  `imported` lists the modules each request imported for the first time.
- a module that keeps an engine or connection at module level (built from the first request's
  URL) would serve later requests with it: `state` names every such module global
  (`pkg.mod.engine: AsyncEngine`), scanned after each request over all modules the requests
  imported. A caller seeing a non-empty `state` should fall back to one process per step.
- os.environ, the working directory, sys.path, sys.argv (as Alembic's command line sets it),
  warnings filters and "shown once" registries, and logging handlers are reset before each
  request to what a fresh process has; log levels set by modules at import are kept.
`env_py_runs` counts env.py executions in the request (1 for every op that reaches env.py).
"""

import sys

# First, a line in Alembic's log format on stderr: db-migrate shows what the launcher writes on
# stderr before such a line as the launcher's own (`manager: ./py: ...`); from here on it is ours.
sys.stderr.write("INFO  [db_migrate.worker] serving Alembic requests\n")
sys.stderr.flush()

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402

try:
    import alembic  # noqa: E402
except ModuleNotFoundError as e:
    if e.name != "alembic":
        raise
    # What `python -m alembic` says, so db-migrate explains it the same way.
    sys.stderr.write(f"{sys.executable}: No module named alembic\n")
    sys.exit(1)
from alembic import command, util  # noqa: E402
from alembic.config import Config  # noqa: E402

MARK = "@@db-migrate-worker"

# The protocol's own ends of stdin and stdout; fd 0 becomes /dev/null, fd 1 a copy of stderr.
REQUESTS = os.fdopen(os.dup(0), "r", encoding="utf-8", newline="\n")
ANSWERS = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)
sys.stdout.flush()
os.dup2(2, 1)

# What a fresh process starts with, restored before every request.
ENVIRON = dict(os.environ)
CWD = os.getcwd()
SYS_PATH = list(sys.path)
WARNING_FILTERS = list(warnings.filters)
ROOT_LEVEL = logging.getLogger().level
MODULES_AT_START = set(sys.modules)
ALEMBIC_MAIN = os.path.join(os.path.dirname(alembic.__file__), "__main__.py")


def answer(marker, payload):
    ANSWERS.write(marker + " " + json.dumps(payload) + "\n")
    ANSWERS.flush()


class Capture(io.TextIOBase):
    """sys.stdout or sys.stderr during a request: every line is sent as it is completed and kept
    for the done answer; text without a final newline (input()'s prompt) is sent at the end."""

    def __init__(self, request_id, stream, fd):
        super().__init__()
        self.request_id = request_id
        self.stream = stream
        self.fd = fd
        self.pending = ""
        self.lines = []

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self.fd

    def write(self, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.pending += text
        *complete, self.pending = self.pending.split("\n")
        for line in complete:
            self.send(line.rstrip("\r"), True)
        return len(text)

    def finish(self):
        if self.pending:
            self.send(self.pending, False)
            self.pending = ""

    def send(self, line, complete):
        self.lines.append(line)
        answer(
            MARK + "-line",
            {"id": self.request_id, "stream": self.stream, "line": line, "complete": complete},
        )


ENV_PY_RUNS = [0]
_load_python_file = util.load_python_file


def counting_load_python_file(dir_, filename):
    if filename == "env.py":
        ENV_PY_RUNS[0] += 1
    return _load_python_file(dir_, filename)


# alembic.script.base calls `util.load_python_file(...)`: looked up at each call.
util.load_python_file = counting_load_python_file


def reset_process_state():
    """What env.py could have changed in an earlier request, back to a fresh process's."""
    if dict(os.environ) != ENVIRON:
        os.environ.clear()
        os.environ.update(ENVIRON)
    os.chdir(CWD)
    sys.path[:] = SYS_PATH
    warnings.filters[:] = WARNING_FILTERS
    # Invalidates every module's "already shown" registry: a warning shows again, as it would
    # in a new process.
    warnings._filters_mutated()
    # Handlers an earlier fileConfig() bound to an earlier request's capture; env.py's
    # fileConfig() makes new ones on this request's sys.stderr.
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in list(logger.handlers):
            if not isinstance(handler, logging.NullHandler):
                logger.removeHandler(handler)
        logger.disabled = False
    logging.getLogger().setLevel(ROOT_LEVEL)


def engine_types():
    """The classes whose instances at module level would outlive a request's URL."""
    types = []
    for module, names in (
        ("sqlalchemy.engine", ("Engine", "Connection")),
        ("sqlalchemy.ext.asyncio", ("AsyncEngine", "AsyncConnection")),
    ):
        loaded = sys.modules.get(module)
        for name in names:
            cls = getattr(loaded, name, None) if loaded else None
            if isinstance(cls, type):
                types.append(cls)
    return tuple(types)


def module_state():
    """`module.name: Type` for every engine or connection a module imported by a request holds."""
    types = engine_types()
    found = []
    if not types:
        return found
    for name in sorted(set(sys.modules) - MODULES_AT_START):
        module = sys.modules.get(name)
        try:
            items = list(vars(module).items())
        except TypeError:
            continue
        for attr, value in items:
            if isinstance(value, types):
                found.append(f"{name}.{attr}: {type(value).__name__}")
    return found


def cli_options(request, op, target, sql):
    """The argparse namespace Alembic's command line would have given env.py (config.cmd_opts)."""
    return argparse.Namespace(
        config=request["ini"],
        name="alembic",
        raiseerr=False,
        x=request.get("x"),
        quiet=False,
        revision=target,
        sql=sql,
        tag=request.get("tag"),
        verbose=bool(request.get("verbose")),
        purge=bool(request.get("purge")),
        message=request.get("message"),
        autogenerate=bool(request.get("autogenerate")),
        head=request.get("head") or "head",
        cmd=op,
    )


def script_call(request):
    """A `python` request: the function running the script as `python -c <script> ARGS…` would."""
    script = request.get("script")
    args = request.get("args", [])
    if not isinstance(script, str) or not isinstance(args, list):
        raise ValueError("python needs \"script\": its text, and \"args\": a list")
    args = [str(a) for a in args]

    def run():
        sys.argv = ["-c"] + args
        code = compile(script, "<string>", "exec")
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})

    return run


def alembic_call(request):
    """(argv after `-c <ini>`, function running it) for a request; ValueError if unreadable."""
    op = request.get("op")
    ini = request.get("ini")
    if not isinstance(ini, str) or not ini:
        raise ValueError("a request needs \"ini\": the path of the Alembic ini file")
    target = request.get("target")
    sql = bool(request.get("sql"))
    tag = request.get("tag")
    if op == "sql":
        op, sql = "upgrade", True
    if op in ("upgrade", "downgrade", "stamp"):
        if not isinstance(target, str) or not target:
            raise ValueError(f"{op} needs \"target\": a revision (or A:B with --sql)")
        argv = [op, target] + (["--sql"] if sql else []) + (["--tag", tag] if tag else [])
        kwargs = {"sql": sql, "tag": tag}
        if op == "stamp" and request.get("purge"):
            argv.append("--purge")
            kwargs["purge"] = True
        fn = getattr(command, op)
        return op, target, sql, argv, lambda config: fn(config, target, **kwargs)
    if op == "current":
        verbose = bool(request.get("verbose"))
        argv = ["current"] + (["--verbose"] if verbose else [])
        return op, None, False, argv, lambda config: command.current(config, verbose=verbose)
    if op == "revision":
        message = request.get("message")
        head = request.get("head")
        autogenerate = bool(request.get("autogenerate"))
        if not isinstance(message, str):
            raise ValueError("revision needs \"message\": the revision's message")
        argv = ["revision", "-m", message] + (["--head", head] if head else [])
        argv += ["--autogenerate"] if autogenerate else []
        return op, None, False, argv, lambda config: command.revision(
            config, message=message, autogenerate=autogenerate, head=head or "head"
        )
    raise ValueError(
        f"unknown op {op!r}: upgrade, downgrade, stamp, current, sql, revision or python"
    )


def exit_code(code):
    """SystemExit's code as the process exit status Python would give it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return 1


def guarded(fn):
    """fn() ended the way Python's top level ends a program: (exit status, interrupted)."""
    try:
        fn()
        return 0, False
    except SystemExit as e:
        return exit_code(e.code), False
    except KeyboardInterrupt:
        traceback.print_exc()
        return 130, True
    except BaseException:
        traceback.print_exc()
        return 1, False


def prepared(request):
    """The function that runs a request, set up as `python -m alembic -c <ini> …` or `python -c
    <script> …` would be; ValueError when the request cannot be read."""
    if request.get("op") == "python":
        return script_call(request)
    op, target, sql, argv, run = alembic_call(request)
    sys.argv = [ALEMBIC_MAIN, "-c", request["ini"]] + argv
    config = Config(
        request["ini"],
        stdout=sys.stdout,
        cmd_opts=cli_options(request, op, target, sql),
    )

    def as_alembic_cli():
        try:
            run(config)
        except util.CommandError as e:
            # What Alembic's command line does with it (CommandLine.run_cmd): exit 255.
            util.err(str(e), **config.messaging_opts)

    return as_alembic_cli


def serve(request_id, request):
    """Run one request with stdout/stderr captured; returns (done payload, interrupted)."""
    out = Capture(request_id, "stdout", 1)
    err = Capture(request_id, "stderr", 2)
    modules_before = set(sys.modules)
    ENV_PY_RUNS[0] = 0
    interrupted = False
    saved = sys.stdout, sys.stderr, sys.argv
    sys.stdout, sys.stderr = out, err
    try:
        reset_process_state()
        try:
            run = prepared(request)
        except ValueError as e:
            sys.stderr.write(f"usage: db-migrate worker request: {e}\n")
            code = 2
        else:
            code, interrupted = guarded(run)
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr, sys.argv = saved
        out.finish()
        err.finish()
    payload = {
        "id": request_id,
        "exit": code,
        "stdout": out.lines,
        "stderr": err.lines,
        "env_py_runs": ENV_PY_RUNS[0],
        "imported": sorted(set(sys.modules) - modules_before),
        "state": module_state(),
    }
    if interrupted:
        payload["interrupted"] = True
    return payload, interrupted


def main():
    answer(
        MARK + "-ready",
        {"pid": os.getpid(), "alembic": alembic.__version__, "python": platform.python_version()},
    )
    for raw in REQUESTS:
        if not raw.strip():
            continue
        try:
            request = json.loads(raw)
            if not isinstance(request, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            request = {"id": None, "op": None, "unreadable": str(e)}
        request_id = request.get("id")
        if "unreadable" in request:
            payload = {
                "id": None,
                "exit": 2,
                "stdout": [],
                "stderr": [f"usage: db-migrate worker request is not JSON: {request['unreadable']}"],
                "env_py_runs": 0,
                "imported": [],
                "state": [],
            }
            interrupted = False
        else:
            payload, interrupted = serve(request_id, request)
        answer(MARK + "-done", payload)
        sys.stderr.write(f"{MARK}-sync {json.dumps(request_id)}\n")
        sys.stderr.flush()
        if interrupted:
            sys.exit(130)


if __name__ == "__main__":
    main()
