import sys

from feelback.cli import app

app(["warehouse", *sys.argv[1:]])
