#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal of a given size, as a person at a terminal would, and prints
a JSON object: {"status": exit code (128+signal if killed), "output": everything the terminal showed}.

  pty-run.py --cols 100 --rows 30 [--env K=V]... [--stdin FILE --slow SECONDS] [--interrupt SECONDS] -- CMD...

--stdin feeds FILE to the command's standard input through a pipe: half of it, then SECONDS later the
rest (a slow input, for progress lines); --interrupt types Ctrl-C on the terminal SECONDS after the
start (the line discipline sends SIGINT, as a real terminal does). Bounded: killed after 60 s."""
import fcntl, json, os, pty, select, signal, struct, sys, termios, time

args = sys.argv[1:]
cols, rows, env, stdin_file, slow, interrupt = 100, 30, dict(os.environ), None, 0.0, None
while args and args[0] != "--":
    k = args.pop(0)
    if k == "--cols": cols = int(args.pop(0))
    elif k == "--rows": rows = int(args.pop(0))
    elif k == "--env":
        name, _, value = args.pop(0).partition("=")
        if value == "": env.pop(name, None)
        else: env[name] = value
    elif k == "--stdin": stdin_file = args.pop(0)
    elif k == "--slow": slow = float(args.pop(0))
    elif k == "--interrupt": interrupt = float(args.pop(0))
    else: sys.exit("unknown option " + k)
cmd = args[1:]

data = open(stdin_file, "rb").read() if stdin_file else None
if data is not None:
    r, w = os.pipe()
pid, master = pty.fork()
if pid == 0:
    if data is not None:
        os.dup2(r, 0)
        os.close(r); os.close(w)
    os.execvpe(cmd[0], cmd, env)
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
os.kill(pid, signal.SIGWINCH)
start = time.time()
out = b""
fed = 0
if data is not None:
    os.close(r)
    half = len(data) // 2 if slow > 0 else len(data)
    os.write(w, data[:half]); fed = half
    if slow == 0: os.close(w); w = None
status = None
interrupted = False
while time.time() - start < 60:
    if data is not None and w is not None and slow > 0 and time.time() - start >= slow:
        try: os.write(w, data[fed:])
        except BrokenPipeError: pass
        os.close(w); w = None
    if interrupt is not None and not interrupted and time.time() - start >= interrupt:
        os.write(master, b"\x03"); interrupted = True
    ready, _, _ = select.select([master], [], [], 0.05)
    if ready:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            chunk = b""
        if chunk:
            out += chunk
            continue
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        try:
            while True:
                ready, _, _ = select.select([master], [], [], 0.1)
                if not ready: break
                chunk = os.read(master, 65536)
                if not chunk: break
                out += chunk
        except OSError:
            pass
        status = os.waitstatus_to_exitcode(st)
        if status < 0: status = 128 - status
        break
else:
    os.kill(pid, signal.SIGKILL)
    status = -1
print(json.dumps({"status": status, "output": out.decode("utf-8", "replace")}))
