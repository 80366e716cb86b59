"""`python -m allybot serve …`, the same as the `allybot` command."""

from allybot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
