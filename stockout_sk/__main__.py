"""``python -m stockout_sk`` is the same as the ``stockout-sk`` console script."""

from stockout_sk.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
