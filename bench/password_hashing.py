"""Memory of concurrent logins: 64 argon2 hashes at once, unbounded vs core.users.BoundedHasher.

argon2id takes 64 MiB per hash (argon2-cffi's defaults); a burst of logins used to run
them all at once. Each variant runs in its own process so peak RSS is its own.
`python -m bench.password_hashing`
"""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
import time

LOGINS = 64


def _run(variant: str) -> None:
    from argon2 import PasswordHasher

    from core.users import BoundedHasher

    hasher = BoundedHasher() if variant == "bounded" else PasswordHasher()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    threads = [threading.Thread(target=hasher.hash, args=("correct horse",))
               for _ in range(LOGINS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024
    print(f"{variant:>9}: {LOGINS} concurrent hashes, peak RSS +{grew} MiB, "
          f"{time.monotonic() - started:.1f} s wall")


def main(argv: list[str]) -> int:
    if argv:
        _run(argv[0])
        return 0
    for variant in ("unbounded", "bounded"):
        subprocess.run([sys.executable, "-m", "bench.password_hashing", variant], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
