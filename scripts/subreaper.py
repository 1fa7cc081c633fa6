"""Runs a command as a child subreaper: every orphan below it (a daemon's double-forked children) is reparented
here and reaped at once, then exits when none is left. The test host starts libvirtd under it when the machine's
PID 1 reaps orphans late (a sandbox init that waits ~2 s): libvirt counts a killed qemu as gone only once it is
reaped, so every `virsh destroy` would wait for that init.

usage: python3 scripts/subreaper.py COMMAND [ARGS...]
"""
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> None:
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"subreaper: prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")
    child = os.fork()
    if child == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    status = 0
    while True:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            sys.exit(status)
        if pid == child:
            status = os.waitstatus_to_exitcode(code)


if __name__ == "__main__":
    main()
