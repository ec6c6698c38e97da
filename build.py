#!/usr/bin/env python3
"""Kite's entry point: `python build.py build|check|serve|new|attend` (see README)."""

import sys

from kite.cli import main

if __name__ == "__main__":
    sys.exit(main())
